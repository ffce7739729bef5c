"""Apply and Save while Generate runs: the edit is saved, the generation goes on and keeps its chunks.

The generate handler is a generator: stepping it by hand puts the edit exactly between two chunks,
as a second browser tab (or the Save button of the same one) would.
"""

from __future__ import annotations

import dataclasses

import pytest

from studio.plan.tables import SCENE_COLUMNS
from studio.project import relocate
from studio.project.model import load_project
from studio.ui.state import SessionState
from tests.ui.conftest import fake_request
from tests.chunk_files import chunk_npz

PROMPT = "A fox runs through the snow. An owl watches the fox from a branch."


@pytest.fixture
def studio(tiny_preset, projects_root):
    from studio.ui.handlers import Handlers
    from studio.ui.state import Workspace

    streaming = dataclasses.replace(tiny_preset.streaming, width=16, height=16, steps=2)
    handlers = Handlers(dataclasses.replace(tiny_preset, streaming=streaming), Workspace(projects_root))
    request, session = fake_request("alice"), SessionState()
    project_id, scene_rows, entity_rows, _ = handlers.plan(PROMPT, "rules", 2, session, request)
    return handlers, request, session, project_id, scene_rows, entity_rows


def edited(rows, row, column, value):
    rows = [list(r) for r in rows]
    rows[row][SCENE_COLUMNS.index(column)] = value
    return rows


@pytest.mark.parametrize("atomic_swap", [True, False])
def test_apply_and_save_during_generation_keep_the_edit_and_the_chunks(studio, monkeypatch, atomic_swap):
    handlers, request, session, project_id, scene_rows, entity_rows = studio
    if not atomic_swap:  # a system without renameat2: rename, then link
        monkeypatch.setattr(relocate, "_exchange", lambda first, second: False)
    scene_id, other_id = scene_rows[0][0], scene_rows[1][0]
    running = handlers.generate(project_id, scene_id, 2, session, request)
    assert "chunk 0 ready" in next(running)[-1]
    rows = edited(edited(scene_rows, 0, "title", "The fox at dusk"), 1, "event", "the owl flies away")
    assert handlers.apply_script(project_id, PROMPT, rows, entity_rows, request)[-1].startswith("✓ Saved")
    saved_id, _ = handlers.save_project(project_id, "kept", session, request)
    assert saved_id == "kept"
    outputs = list(running)
    assert outputs[-1][-1].startswith("Done: 2 new chunks")  # the generation went on to its end
    folder = handlers.workspace.locate("alice", "kept")
    project = load_project(folder)
    assert project.id == "kept"
    assert project.script.scene(scene_id).title == "The fox at dusk"
    assert project.script.scene(other_id).event == "the owl flies away"
    chunks = project.script.scene(scene_id).chunks
    assert [c.status for c in chunks] == ["ready", "ready"]
    assert all(chunk_npz(folder, scene_id, c.index).is_file() for c in chunks)  # its files are in the saved folder
    assert handlers.workspace.locate("alice", project_id).resolve() == folder.resolve()  # the old id still opens it


def test_an_edit_that_makes_the_generating_scene_stale_is_kept_and_the_tab_says_so(studio):
    handlers, request, session, project_id, scene_rows, entity_rows = studio
    scene_id = scene_rows[0][0]
    running = handlers.generate(project_id, scene_id, 2, session, request)
    next(running)
    rows = edited(scene_rows, 0, "event", "the fox swims across a river")
    handlers.apply_script(project_id, PROMPT, rows, entity_rows, request)
    outputs = list(running)
    message = outputs[-1][-1]
    assert message.startswith("⚠") and scene_id in message and "\n" not in message
    scene = load_project(handlers.workspace.locate("alice", project_id)).script.scene(scene_id)
    assert scene.event == "the fox swims across a river"
    assert [c.status for c in scene.chunks] == ["stale"]  # the edit won: chunk 0 is to be remade
