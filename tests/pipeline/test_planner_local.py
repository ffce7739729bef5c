"""The local LLM planner with the tiny random Llama: llguidance forces schema-valid JSON."""

from __future__ import annotations

import dataclasses

import pytest

from studio.errors import StudioError
from studio.plan import local
from studio.plan.schema import SCRIPT_JSON_SCHEMA, schema_errors
from studio.plan.stage import plan_script
from studio.project.model import CAMERA_MOVES, script_from_dict


def test_constrained_decoding_yields_schema_valid_json_fast(tiny_preset):
    schema = {"type": "object", "additionalProperties": False, "required": ["camera", "n_chunks", "title"],
              "properties": {"camera": {"type": "string", "enum": list(CAMERA_MOVES)},
                             "n_chunks": {"type": "integer", "minimum": 1, "maximum": 64},
                             "title": {"type": "string", "maxLength": 6}}}
    value, finished = local.constrained_sample(tiny_preset, schema, "Plan a scene.", max_new_tokens=64)
    assert finished
    assert schema_errors(value, schema) == []


def test_plan_script_local_gives_a_full_valid_script(tiny_preset, caplog):
    # The tiny preset's 256 tokens cut the first answer off; the retry's compact schema must fit them.
    script = plan_script("A fox runs. It sleeps.", tiny_preset, planner="local")
    assert script_from_dict(dataclasses.asdict(script)) == script
    assert [s.id for s in script.scenes] == ["scene-1"]
    scene = script.scenes[0]
    assert scene.camera in CAMERA_MOVES and 1 <= scene.n_chunks <= 64 and scene.event
    planner_view = {"entities": [{"id": e.id, "name": e.name, "description": e.description} for e in script.entities],
                    "scenes": [{"title": s.title, "event": s.event, "entity_ids": s.entity_ids, "background": s.background,
                                "camera": s.camera, "n_chunks": s.n_chunks} for s in script.scenes]}
    assert schema_errors(planner_view, SCRIPT_JSON_SCHEMA) == []
    again = plan_script("A fox runs. It sleeps.", tiny_preset, planner="local")
    assert again == script  # greedy decoding: the same prompt gives the same script


def test_num_scenes_is_honoured(tiny_preset):
    script = plan_script("A fox runs. It sleeps.", tiny_preset, planner="local", num_scenes=2)
    assert [s.id for s in script.scenes] == ["scene-1", "scene-2"]


def test_retries_feed_the_error_back(tiny_preset, monkeypatch):
    answers = iter(["not json at all", '{"entities": [], "scenes": [{"event": "A fox runs", "camera": "zoom"}]}'])
    seen: list[list[dict]] = []

    def fake_generate(model, tokenizer, messages, make_matcher, max_new_tokens):
        seen.append(messages)
        return next(answers), True

    monkeypatch.setattr(local, "generate_json", fake_generate)
    script = plan_script("A fox runs.", tiny_preset, planner="local")
    assert script.scenes[0].camera == "zoom in"
    assert len(seen) == 2 and "not JSON" in seen[1][-1]["content"] and seen[1][-2]["content"] == "not json at all"


def test_garbage_every_time_is_one_line_error(tiny_preset, monkeypatch):
    monkeypatch.setattr(local, "generate_json", lambda *args: ("", True))
    with pytest.raises(StudioError, match="gave no usable script in 3 attempts") as info:
        plan_script("A fox runs.", tiny_preset, planner="local")
    assert "\n" not in str(info.value)
