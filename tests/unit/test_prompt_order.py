"""Prompts put the camera move first, so CLIP's 77-token cut shortens the scene text, never the move."""

from __future__ import annotations

import logging

from studio.project.model import Scene

LONG_EVENT = " ".join(["the red fox trots past frozen pines and snowy rocks"] * 12)


def test_the_camera_phrase_survives_the_77_token_cut(caplog):
    from studio.models import diffusion
    from studio.models.tiny import clip_tokenizer

    tokenizer = clip_tokenizer()  # a byte-level CLIP tokenizer: one token per character
    scene = Scene(id="s", title="t", event=LONG_EVENT, background="a winter forest", camera="pan left")
    prompt = scene.prompt_for_chunk(0)
    assert prompt.startswith("camera pans left, the red fox")
    kept = tokenizer(prompt, max_length=77, truncation=True)["input_ids"]
    assert "camera pans left" in tokenizer.decode(kept, skip_special_tokens=True)
    with caplog.at_level(logging.WARNING, logger="studio.models.diffusion"):
        dropped = diffusion.note_truncation(tokenizer, prompt)
        diffusion.note_truncation(tokenizer, prompt)  # said once per prompt, not once per chunk
    assert dropped.endswith("a winter forest") and "camera" not in dropped  # the end goes, the move stays
    assert len([r for r in caplog.records if "CLIP keeps 77" in r.getMessage()]) == 1
    assert diffusion.note_truncation(tokenizer, "camera pans left, a fox") == ""


def test_library_notices_are_quiet_unless_verbose(monkeypatch):
    import warnings

    from studio.logs import quiet_libraries

    monkeypatch.setattr(warnings, "filters", list(warnings.filters))  # the filters it adds go with the test
    for name in ("TRANSFORMERS_VERBOSITY", "DIFFUSERS_VERBOSITY", "HF_HUB_VERBOSITY", "HF_HUB_DISABLE_PROGRESS_BARS"):
        monkeypatch.delenv(name, raising=False)
    for name in ("transformers", "diffusers"):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.NOTSET)
    quiet_libraries()
    assert logging.getLogger("transformers").level == logging.ERROR
    assert logging.getLogger("diffusers").level == logging.ERROR
