"""A lower chunk count hides finished chunks (custom seeds and prompts kept); raising it shows them again
as they were, without remaking them: from the CLI's `generate --chunks` and the Generate tab's count."""

from __future__ import annotations

import pytest

from studio.cli import main
from studio.config import load_preset
from studio.generate import stage
from studio.generate.stage import generate_scene, regenerate_chunk
from studio.media.video import load_scene_frames
from studio.plan.tables import SCENE_COLUMNS, rows_to_script, script_to_rows
from studio.project.model import Scene, Script, load_project, new_project, save_project
from studio.ui.state import SessionState
from tests.ui.conftest import fake_request
from tests.chunk_files import chunk_npz


@pytest.fixture(scope="module")
def animatic():
    return load_preset("animatic")


@pytest.fixture
def chunks_made(monkeypatch):
    """Counts the chunks actually computed."""
    made = []
    real = stage.make_chunk_frames

    def counting(preset, project, scene, index, *args):
        made.append(index)
        return real(preset, project, scene, index, *args)

    monkeypatch.setattr(stage, "make_chunk_frames", counting)
    return made


def make_project(path):
    scene = Scene(id="s1", title="fox", event="a fox runs", background="a forest", n_chunks=3, seed=7)
    save_project(new_project("p", "animatic", Script(prompt="a fox", scenes=[scene])), path)
    return path


def records(path):
    return [(c.index, c.seed, c.prompt, c.status) for c in load_project(path).script.scene("s1").chunks]


def test_cli_lower_then_raise_the_count_keeps_custom_chunks_and_remakes_nothing(tmp_path, animatic, chunks_made):
    path = make_project(tmp_path / "p")
    assert main(["generate", str(path), "--preset", "animatic"]) == 0
    regenerate_chunk(path, animatic, "s1", 2, seed=99, prompt="the fox sleeps")
    made = records(path)
    frames = chunk_npz(path, "s1", 2).read_bytes()
    assert main(["generate", str(path), "--chunks", "1", "--preset", "animatic"]) == 0
    assert [r[3] for r in records(path)] == ["ready", "hidden", "hidden"]
    assert load_project(path).script.scene("s1").n_chunks == 1
    chunks_made.clear()
    assert main(["generate", str(path), "--chunks", "3", "--preset", "animatic"]) == 0
    assert chunks_made == []  # shown again as they were
    assert records(path) == made  # seeds, prompts, ready
    assert chunk_npz(path, "s1", 2).read_bytes() == frames
    assert len(load_scene_frames(path, load_project(path).script.scene("s1"))) == 16 + 8 + 8  # all three play again


def test_generate_tab_count_field_is_a_one_off(tmp_path, chunks_made):
    """The Generate tab's Chunks box below the script's count makes only the first chunks this time: the script
    keeps its count and no finished chunk is hidden. Catches the box rewriting the script for good."""
    from studio.ui.handlers import Handlers
    from studio.ui.state import Workspace

    handlers, request, session = Handlers(load_preset("animatic"), Workspace(tmp_path)), fake_request("alice"), SessionState()
    project_id, scene_rows, _, _ = handlers.plan("A fox runs through the snow.", "rules", 1, session, request)
    scene_id = scene_rows[0][0]
    list(handlers.generate(project_id, scene_id, 3, session, request))
    folder = handlers.workspace.locate("alice", project_id)
    before = [(c.seed, c.prompt) for c in load_project(folder).script.scene(scene_id).chunks]
    planned = load_project(folder).script.scene(scene_id).n_chunks
    list(handlers.generate(project_id, scene_id, 1, session, request))
    scene = load_project(folder).script.scene(scene_id)
    assert scene.n_chunks == planned and [c.status for c in scene.chunks] == ["ready"] * 3
    chunks_made.clear()
    outputs = list(handlers.generate(project_id, scene_id, 3, session, request))
    scene = load_project(folder).script.scene(scene_id)
    assert chunks_made == [] and [c.status for c in scene.chunks] == ["ready"] * 3
    assert [(c.seed, c.prompt) for c in scene.chunks] == before
    assert outputs[-1][-1].startswith("The first 3 chunks are ready already")


def test_hidden_chunks_made_from_old_content_are_remade(tmp_path, animatic, chunks_made):
    path = make_project(tmp_path / "p")
    list(generate_scene(path, animatic, "s1"))
    list(generate_scene(path, animatic, "s1", num_chunks=1))
    assert [r[3] for r in records(path)] == ["ready", "hidden", "hidden"]
    project = load_project(path)
    scene_rows, entity_rows = script_to_rows(project.script)
    scene_rows[0][SCENE_COLUMNS.index("event")] = "a fox swims"  # the scene changed: hidden chunks are stale too
    project.script = rows_to_script(project.script.prompt, scene_rows, entity_rows, previous=project.script)
    save_project(project, path)
    assert [r[3] for r in records(path)] == ["stale"] * 3
    chunks_made.clear()
    list(generate_scene(path, animatic, "s1", num_chunks=3))
    assert chunks_made == [0, 1, 2] and [r[3] for r in records(path)] == ["ready"] * 3
