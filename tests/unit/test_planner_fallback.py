"""The gpu preset plans with its local LLM; when that model cannot load, the rules planner plans instead."""

from __future__ import annotations

import logging

from studio.config import load_preset
from studio.plan import prompts
from studio.plan.stage import plan_script


def test_gpu_preset_plans_with_the_local_llm_by_default():
    assert load_preset("gpu").planning.planner == "local"


def test_a_planner_model_that_cannot_load_falls_back_to_rules(tiny_preset, monkeypatch, caplog):
    from studio.models import cache

    def offline(preset, name):
        raise OSError("We couldn't connect to 'https://huggingface.co' to load the files")

    monkeypatch.setattr(cache, "get_component", offline)
    prompt = "A woman waters the garden, then sits on the porch."
    with caplog.at_level(logging.WARNING):
        script = plan_script(prompt, tiny_preset, planner="local")
    assert script == plan_script(prompt, tiny_preset, planner="rules")
    assert any("could not be loaded" in r.message and "rules planner instead" in r.message for r in caplog.records)


def test_the_system_prompt_asks_for_videostudio_fields_and_shows_examples():
    text = prompts.SYSTEM_PROMPT
    for field in ("entities", "description", "event", "background", "camera", "n_chunks", "entity_ids"):
        assert field in text
    assert text.count("Example") >= 2
    assert "appearance" in text
