"""The panels' handlers called directly (fast): what each shows after a change is the project as saved,
and a forged or refused value is one line that changes nothing."""

from __future__ import annotations

import gradio as gr
import pytest

from studio.project.model import load_project
from studio.ui.state import SessionState
from tests.ui.conftest import fake_request

PROMPT = "A fox runs through the snow. An owl watches the fox from a branch."


@pytest.fixture
def handlers(projects_root):
    """The studio's handlers on the animatic preset: milliseconds per chunk, so these tests stay fast."""
    from studio.config import load_preset
    from studio.ui.handlers import Handlers
    from studio.ui.state import Workspace

    return Handlers(load_preset("animatic"), Workspace(projects_root))


@pytest.fixture
def planned(handlers):
    request, session = fake_request("alice"), SessionState()
    project_id, scene_rows, entity_rows, _ = handlers.plan(PROMPT, "rules", 2, session, request)
    return handlers, request, session, project_id, scene_rows, entity_rows


def project_json(handlers, project_id):
    return handlers.workspace.locate("alice", project_id) / "project.json"


def test_removing_a_row_past_the_end_saves_nothing_and_says_why(planned):
    """Bug caught: removing row 9 of 2 reported '✓ Saved: 2 scenes', the out-of-range line overwritten by
    the save that followed it."""
    handlers, request, session, project_id, scene_rows, entity_rows = planned
    before = project_json(handlers, project_id).read_bytes()
    scenes, entities, message = handlers.remove_and_save(project_id, PROMPT, scene_rows, entity_rows, 9, session,
                                                         request)
    assert message == "⚠ scene number must be a whole number from 0 to 2, got 9"
    assert isinstance(scenes, type(gr.skip())) and isinstance(entities, type(gr.skip()))
    assert project_json(handlers, project_id).read_bytes() == before
    scenes, _, message = handlers.remove_and_save(project_id, PROMPT, scene_rows, entity_rows, 1, session, request)
    assert message == f"Removed scene row 1. ✓ Saved: 1 scene, {len(entity_rows)} entities." and len(scenes) == 1
    assert len(load_project(project_json(handlers, project_id).parent).script.scenes) == 1


def test_a_saved_edit_shows_the_values_the_project_saved(planned):
    """Bug caught: the Plan table kept the typed 'slow pan to the left' and a new row's blank id after the
    project saved 'pan left' and a fresh scene id."""
    from studio.plan.tables import SCENE_COLUMNS

    handlers, request, session, project_id, scene_rows, entity_rows = planned
    scenes, _, message = handlers.add_and_save(project_id, PROMPT, scene_rows, entity_rows, 0, session, request)
    new_id = scenes[2][0]
    assert message.startswith("Added scene 3") and new_id and new_id not in {row[0] for row in scene_rows}
    edited = [list(row) for row in scenes]
    edited[0][SCENE_COLUMNS.index("camera")] = "slow pan to the left"
    saved, entities, message = handlers.check_script(project_id, PROMPT, edited, entity_rows, request, session)
    assert message.startswith("✓ Saved: 3 scenes") and saved[0][SCENE_COLUMNS.index("camera")] == "pan left"
    assert isinstance(entities, type(gr.skip()))  # unchanged by the save: the table under the cursor is left alone
    # An edit saved as typed rewrites nothing.
    again, _, _ = handlers.check_script(project_id, PROMPT, saved, entity_rows, request, session)
    assert isinstance(again, type(gr.skip()))


def test_the_views_follow_the_picked_scene_and_chunk(planned):
    """Bugs caught: Refine kept scene 1's X-T slice and seam line after scene 2 was picked; the chunk
    player kept another chunk's (or an old take's) video after another chunk was selected."""
    from studio.ui.takes_panel import TakeHandlers

    handlers, request, session, project_id, scene_rows, _ = planned
    first, second = scene_rows[0][0], scene_rows[1][0]
    for _ in handlers.generate(project_id, first, 0, session, request):
        pass
    _, _, xt_slice, message = handlers.refine(project_id, first, "", None, -1, session, request)
    assert xt_slice and "Seam score" in message
    assert handlers.show_refine(project_id, first, request)[2] == xt_slice  # its own slice, drawn from disk
    assert handlers.show_refine(project_id, second, request)[2:] == (None, "")

    takes = TakeHandlers(handlers)
    handlers.regenerate_chunk(project_id, first, 0, -1, "the fox leaps", session, request, keep_later=True)
    from studio.project.paths import ProjectPaths

    paths = ProjectPaths(project_json(handlers, project_id).parent)
    gallery, numbers, player, _ = takes.show_takes(project_id, first, 0, request)
    assert numbers == [1, 2] and player == str(paths.take_preview(first, 0, 2))  # the new take is active
    takes.use_take(project_id, first, 0, 1, session, request)
    assert takes.show_takes(project_id, first, 0, request)[2] == str(paths.take_preview(first, 0, 1))
    active = load_project(paths.root).script.scene(first).chunks[1].take
    assert takes.show_takes(project_id, first, 1, request)[2] == str(paths.take_preview(first, 1, active))
    assert takes.show_takes(project_id, second, 0, request)[:3] == ([], [], None)  # nothing made there yet


def test_forged_select_events_are_one_line(planned):
    """Bug caught: a select event with a bogus index (sent by a client, not the page) answered `error: null`
    from the gallery, and an internal error from the chunk table."""
    from studio.ui.takes_panel import TakeHandlers

    handlers, request, session, project_id, scene_rows, _ = planned
    scene_id = scene_rows[0][0]
    for _ in handlers.generate(project_id, scene_id, 0, session, request):
        pass
    before = project_json(handlers, project_id).read_bytes()
    for index in (7, -1, "x", None, [True]):
        event = gr.SelectData(None, {"index": index, "value": "forged"})
        outputs = TakeHandlers(handlers).use_selected_take(project_id, scene_id, 0, [1], session, event, request)
        assert outputs[-1].startswith("⚠ that take is not in the gallery") and len(outputs) == 6
        *_, message = handlers.select_chunk(project_id, scene_id, gr.SelectData(None, {"index": [index, 0], "value": "forged"}), request)
        assert message.startswith("⚠ that selection") and "click a row of the table" in message
    assert project_json(handlers, project_id).read_bytes() == before


def test_words_and_marks_a_creator_reads():
    """Bugs caught: 'Planned 1 scenes'; the colour strip ignored approval; the takes gallery cut 'active'
    off the end of its captions; a QA line without its full stop; two scores in different units on one plot."""
    from types import SimpleNamespace

    from studio.project.model import Chunk, Scene
    from studio.ui import metrics_view
    from studio.ui.qa_panel import qa_line
    from studio.ui.takes_panel import take_caption
    from studio.ui.views import count_of, timeline_html

    assert [count_of(1, "scene"), count_of(2, "scene"), count_of(1, "entity"), count_of(3, "entity")] == [
        "1 scene", "2 scenes", "1 entity", "3 entities"]
    scene = Scene(id="s0", title="", event="e", n_chunks=3,
                  chunks=[Chunk(index=0, seed=1, prompt="p", approval="approved"),
                          Chunk(index=1, seed=2, prompt="p", approval="rejected")])
    strip = timeline_html(scene)
    assert "chunk-cell chunk-ready chunk-approved" in strip and "chunk-cell chunk-ready chunk-rejected" in strip
    assert "✓ approved 1" in strip and "✕ rejected 1" in strip
    assert take_caption(SimpleNamespace(take=2, seed=1762710000, active=True)).startswith("take 2 · active")
    report = SimpleNamespace(notes=["CLIP is not available: colour and seams only"], chunks=[1, 2], flagged=lambda: [])
    assert qa_line(report) == "CLIP is not available: colour and seams only. 0 of 2 chunks flagged."
    points = metrics_view.score_points({"per_chunk": [{"chunk": 0, "motion": 1.5, "consistency": 30.0}]}, "motion")
    assert points == [{"chunk": 0, "motion (px/frame)": 1.5}]
