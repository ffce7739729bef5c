"""The handlers called directly: bad table input is named inline and loses nothing; ids stay in their session."""

from __future__ import annotations

import gradio as gr
import pytest

from studio.project.model import load_project
from studio.ui.handlers import check_upload, parse_count
from studio.ui.state import SessionState
from tests.ui.conftest import fake_request

PROMPT = "A fox runs through the snow. An owl watches the fox from a branch."


@pytest.fixture
def planned(handlers):
    request = fake_request("alice")
    project_id, scene_rows, entity_rows, message = handlers.plan(PROMPT, "rules", 2, SessionState(), request)
    return handlers, request, project_id, scene_rows, entity_rows


def test_plan_returns_tables_in_column_order(planned):
    from studio.plan.tables import ENTITY_COLUMNS, SCENE_COLUMNS

    handlers, request, project_id, scene_rows, entity_rows = planned
    assert project_id.startswith("p-") and len(scene_rows) == 2
    assert all(len(row) == len(SCENE_COLUMNS) for row in scene_rows)
    assert all(len(row) == len(ENTITY_COLUMNS) for row in entity_rows)
    folder = handlers.workspace.locate("alice", project_id)
    assert load_project(folder).id == project_id


@pytest.mark.parametrize("column, value, expected", [
    ("event", "", "column 'event'"),
    ("entities", "dragon", "'dragon' is not in the entities table"),
    ("chunks", "many", "column 'chunks'"),
    ("chunks", -3, "column 'chunks'"),
    ("camera", "spin wildly", "column 'camera'"),
])
def test_bad_cells_are_named_inline_and_nothing_is_saved(planned, column, value, expected):
    from studio.plan.tables import SCENE_COLUMNS

    handlers, request, project_id, scene_rows, entity_rows = planned
    folder = handlers.workspace.locate("alice", project_id)
    before = (folder / "project.json").read_bytes()
    edited = [list(row) for row in scene_rows]
    edited[1][SCENE_COLUMNS.index(column)] = value
    tables_scene, tables_entity, message = handlers.apply_script(project_id, PROMPT, edited, entity_rows, request)
    assert message.startswith("⚠") and "row 2" in message and expected in message
    # The tables are not rewritten (the page keeps the user's edits) and the project is unchanged.
    assert isinstance(tables_scene, type(gr.skip())) and isinstance(tables_entity, type(gr.skip()))
    assert (folder / "project.json").read_bytes() == before


def test_a_thousand_scenes_is_refused_inline(planned):
    handlers, request, project_id, scene_rows, entity_rows = planned
    rows = [list(scene_rows[0]) for _ in range(1000)]
    for i, row in enumerate(rows):
        row[0] = f"s{i}"
    *_, message = handlers.apply_script(project_id, PROMPT, rows, entity_rows, request)
    assert message.startswith("⚠") and "at most" in message


def test_valid_edit_is_saved_and_add_remove_scene(planned):
    from studio.plan.tables import SCENE_COLUMNS

    handlers, request, project_id, scene_rows, entity_rows = planned
    rows, note = handlers.add_scene(scene_rows)
    assert len(rows) == 3 and "Added scene 3" in note
    rows[2][SCENE_COLUMNS.index("event")] = "The owl flies away over the hills"
    new_scenes, _, message = handlers.apply_script(project_id, PROMPT, rows, entity_rows, request)
    assert message.startswith("✓") and len(new_scenes) == 3
    project = load_project(handlers.workspace.locate("alice", project_id))
    assert project.script.scenes[2].event == "The owl flies away over the hills"
    assert project.script.scenes[2].id not in {s.id for s in project.script.scenes[:2]}
    rows, note = handlers.remove_scene(new_scenes, 1)
    assert len(rows) == 2 and rows[0][0] == new_scenes[1][0]
    unchanged, note = handlers.remove_scene(new_scenes, 7)
    assert note.startswith("⚠") and isinstance(unchanged, type(gr.skip()))


def test_check_script_only_reports(planned):
    handlers, request, project_id, scene_rows, entity_rows = planned
    assert handlers.check_script(project_id, PROMPT, scene_rows, entity_rows, request)[-1].startswith("✓")
    assert "Plan a project first" in handlers.check_script("", PROMPT, scene_rows, entity_rows, request)[-1]


def test_other_sessions_cannot_reach_a_project(planned):
    handlers, request, project_id, scene_rows, entity_rows = planned
    intruder = fake_request("mallory")
    with pytest.raises(gr.Error, match="no project"):
        handlers.open_project(project_id, SessionState(), intruder)
    with pytest.raises(gr.Error, match="not valid"):
        handlers.open_project("../" + project_id, SessionState(), request)
    with pytest.raises(gr.Error, match="no project"):
        handlers.refresh(project_id, intruder)
    # Saved, it can be opened by name from anywhere: the owner opens it, any other session gets a copy.
    owner = SessionState()
    saved_id, message = handlers.save_project(project_id, "fox-film", owner, request)
    assert saved_id == "fox-film" and "Saved" in message
    assert handlers.open_project("fox-film", owner, request)[0] == "fox-film"
    copy_id, message = handlers.open_project("fox-film", SessionState(), intruder)
    assert copy_id.startswith("p-") and "opened a copy" in message


def test_plan_input_errors_are_one_line(handlers):
    request = fake_request("alice")
    for prompt, planner, scenes, expected in (("   ", "rules", None, "prompt is empty"),
                                              (PROMPT, "rules", -2, "number of scenes"),
                                              (PROMPT, "oracle", None, "planner")):
        *untouched, message = handlers.plan(prompt, planner, scenes, SessionState(), request)
        assert message.startswith("⚠") and expected in message
        assert all(isinstance(value, type(gr.skip())) for value in untouched)  # no other output is touched


def test_generate_rejects_bad_chunk_counts_before_any_work(planned):
    handlers, request, project_id, *_ = planned
    for bad in (-1, 2.5, "ten", 10_000):
        *untouched, message = next(handlers.generate(project_id, "", bad, SessionState(), request))
        assert message.startswith("⚠ Chunks must be") and all(isinstance(v, type(gr.skip())) for v in untouched)


def test_parse_count_and_upload_checks(tmp_path):
    assert parse_count(None, "n", 1, 5) is None and parse_count("", "n", 1, 5) is None
    assert parse_count(3.0, "n", 1, 5) == 3 and parse_count("4", "n", 1, 5) == 4
    for bad in (0, 6, 1.5, "x"):
        with pytest.raises(ValueError, match="n must be"):
            parse_count(bad, "n", 1, 5)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match="must be one of"):
        check_upload(str(text), (".png",), "image")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="bytes"):
        check_upload(str(empty), (".png",), "image")
    with pytest.raises(ValueError, match="no image"):
        check_upload(None, (".png",), "image")
    from studio.ui.inputs import MAX_UPLOAD_BYTES

    over = tmp_path / "over.zip"
    with open(over, "wb") as handle:
        handle.truncate(MAX_UPLOAD_BYTES + 1)  # sparse: no disk is used
    with pytest.raises(ValueError, match=f"is {MAX_UPLOAD_BYTES + 1} bytes"):
        check_upload(str(over), (".zip",), "archive")
    over.unlink()


def test_upload_of_a_fake_image_is_refused_and_the_entity_kept(planned, tmp_path):
    handlers, request, project_id, scene_rows, entity_rows = planned
    fake = tmp_path / "fake.png"
    fake.write_bytes(b"not an image at all")
    entity_id = entity_rows[0][0]
    with pytest.raises(gr.Error):
        handlers.upload_entity(project_id, entity_id, str(fake), request)
    project = load_project(handlers.workspace.locate("alice", project_id))
    assert project.script.entity(entity_id).status == "pending"
    assert not (handlers.workspace.locate("alice", project_id) / "entities" / f"{entity_id}.png").exists()


def test_upload_of_a_real_image_sets_the_reference(planned, tmp_path):
    from PIL import Image

    handlers, request, project_id, scene_rows, entity_rows = planned
    picture = tmp_path / "fox.png"
    Image.new("RGB", (48, 40), (200, 90, 20)).save(picture)
    entity_id = entity_rows[0][0]
    cards = handlers.upload_entity(project_id, entity_id, str(picture), request)
    card = next(c for c in cards if c["id"] == entity_id)
    assert card["image"] and card["image"].endswith(".png")
    cards = handlers.set_entity_status(project_id, entity_id, "approved", request)
    assert next(c for c in cards if c["id"] == entity_id)["status"] == "approved"


def test_stop_keeps_finished_chunks_and_says_so(handlers):
    request, session = fake_request("alice"), SessionState()
    project_id, *_ = handlers.plan("A fox runs through the snow.", "rules", 1, session, request)
    stream = handlers.generate(project_id, "", 3, session, request)
    first = next(stream)
    assert first[0].endswith(".mp4") and "chunk 0 ready" in first[-1]
    handlers.stop(session)  # what the Stop button does, between two chunks
    *rest, last = list(stream)
    assert rest == [] and last[-1].startswith("Stopped after 1 chunk; it is kept")
    scene = load_project(handlers.workspace.locate("alice", project_id)).script.scenes[0]
    assert [c.status for c in scene.chunks] == ["ready"]
