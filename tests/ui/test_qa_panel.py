"""The QA views' handlers called directly: the strip flags a faulty chunk and opens its regeneration;
after an export the Export tab gets one drift plot per scene and a timeline that reads back."""

from __future__ import annotations

import gradio as gr
import numpy as np
import opentimelineio as otio

from studio.ui.qa_panel import make_handlers
from tests.ui.conftest import fake_request
from tests.unit.test_qa import make_project


def session_project(handlers, session: str):
    """The synthetic two-scene project of tests/unit/test_qa.py, chunk a/2 colour-shifted, in `session`."""
    folder = handlers.workspace.session_dir(session)
    folder.mkdir(parents=True, exist_ok=True)
    return make_project(folder, lambda frames, _: np.clip(frames.astype(int) + [45, 0, -45], 0, 255).astype(np.uint8))


def test_the_strip_flags_the_chunk_and_a_click_opens_its_regeneration(handlers):
    request = fake_request("alice")
    session_project(handlers, "alice")
    qa = make_handlers(handlers)
    rows, message = qa.check_scene("p", "a", request)
    assert [(r[0], r[1]) for r in rows] == [(0, "ok"), (1, "ok"), (2, "FLAGGED"), (3, "FLAGGED")]
    assert "colour drift" in rows[2][4] and "2 of 4 chunks flagged" in message
    click = gr.SelectData(None, {"index": [2, 4], "value": rows[2][4], "row_value": rows[2]})
    index, seed, prompt, message = qa.open_regeneration("p", "a", click, request)
    assert (index, prompt) == (2, "p") and 0 <= seed < 2**31


def test_after_export_the_plots_and_the_timeline_are_offered(handlers):
    request = fake_request("bob")
    project_dir = session_project(handlers, "bob")
    qa = make_handlers(handlers)
    handlers.export("p", False, request)
    plots, timeline = qa.export_views("p", "OpenTimelineIO (.otio)", request)
    assert [p.rsplit("/", 1)[-1] for p in plots] == ["a.png", "b.png"]
    assert timeline == str(project_dir / "timeline.otio")  # named by the studio, never after a session's project id
    clips = list(otio.adapters.read_from_file(timeline).find_clips())
    assert [c.name for c in clips] == ["A", "B"] and [c.duration().to_frames() for c in clips] == [40, 40]
    assert "colour drift" in clips[0].markers[2].name


def test_the_strip_and_the_export_panel_are_wired_into_the_app(tiny_preset, tmp_path):
    from studio.ui import build_app

    demo = build_app(tiny_preset, projects_root=tmp_path / "projects")
    assert "qa" in {fn.api_name for fn in demo.fns.values()}
    elem_ids = {getattr(b, "elem_id", None) for b in demo.blocks.values()}
    assert {"qa-btn", "qa-table"} <= elem_ids
