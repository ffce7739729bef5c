"""A second writer edits project.json while a scene generates: its edit survives the generator's saves.

The second writer is a real thread that takes the project lock, loads, edits and saves, started from
the generator's stop callback (which the sampler calls between denoising steps), so the edit lands
deterministically after the generator loaded the project and before it saves a chunk.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import threading

import pytest

from studio.generate.stage import generate_scene
from studio.plan.tables import rows_to_script, script_to_rows
from studio.project.approval import set_approval
from studio.project.lock import LOCK_FILE, holds_project_lock, project_lock
from studio.project.model import Scene, Script, load_project, new_project, save_project
from studio.project.progress import SceneChangedError
from studio.project.draft import current_draft
from studio.project.paths import ProjectPaths


@pytest.fixture(scope="module")
def preset(tiny_preset):
    streaming = dataclasses.replace(tiny_preset.streaming, width=16, height=16, steps=2, max_chunks=4)
    return dataclasses.replace(tiny_preset, streaming=streaming)


def make_project(path):
    scenes = [Scene(id="s1", title="fox", event="a fox runs", n_chunks=2, seed=7),
              Scene(id="s2", title="owl", event="an owl sleeps", n_chunks=1, seed=8)]
    save_project(new_project("p", "tiny", Script(prompt="a fox and an owl", scenes=scenes)), path)
    return path


class EditOnce:
    """A stop flag that never stops; on its first check it runs `edit` in another thread and waits for it."""

    def __init__(self, edit):
        self.edit, self.done = edit, False

    def is_set(self) -> bool:
        if not self.done:
            self.done = True
            writer = threading.Thread(target=self.edit)
            writer.start()
            writer.join(timeout=30)
            assert not writer.is_alive(), "the second writer never got the project lock"
        return False


def test_edits_made_while_a_scene_generates_survive(tmp_path, preset):
    path = make_project(tmp_path / "p")

    def edit():
        with project_lock(path):
            project = load_project(path)
            project.script.scene("s1").title = "fox at dusk"
            project.script.scene("s2").event = "an owl wakes up"
            save_project(project, path)

    events = list(generate_scene(path, preset, "s1", stop=EditOnce(edit)))
    assert [e.index for e in events] == [0, 1]
    project = load_project(path)
    assert project.script.scene("s1").title == "fox at dusk"
    assert project.script.scene("s2").event == "an owl wakes up"
    assert [c.status for c in project.script.scene("s1").chunks] == ["ready", "ready"]  # and the generation's work too
    assert current_draft(ProjectPaths(path), project.script.scene("s1")) is not None


def test_an_edit_that_makes_the_generating_scene_stale_stops_it_and_is_kept(tmp_path, preset):
    path = make_project(tmp_path / "p")
    list(generate_scene(path, preset, "s1", num_chunks=1))

    def edit():  # the Plan tab's save of a changed event: the scene's chunks become stale
        with project_lock(path):
            project = load_project(path)
            scene_rows, entity_rows = script_to_rows(project.script)
            scene_rows[0][2] = "a fox swims"
            project.script = rows_to_script(project.script.prompt, scene_rows, entity_rows, previous=project.script)
            save_project(project, path)

    with pytest.raises(SceneChangedError, match="s1.*edited while it generated"):
        list(generate_scene(path, preset, "s1", num_chunks=2, stop=EditOnce(edit)))
    scene = load_project(path).script.scene("s1")
    assert scene.event == "a fox swims"
    assert [c.status for c in scene.chunks] == ["stale"]  # the generator did not write its stale copy back
    events = list(generate_scene(path, preset, "s1"))  # the next run remakes them from the new script
    assert [e.index for e in events] == [0, 1]


def test_the_lock_is_reentrant_within_a_thread_and_exclusive_across_threads(tmp_path):
    path = make_project(tmp_path / "p")
    tries = []

    def other():  # another holder (thread or process) opens the lock file on its own and asks without waiting
        descriptor = os.open(path / LOCK_FILE, os.O_RDWR)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            tries.append("got it")
            fcntl.flock(descriptor, fcntl.LOCK_UN)
        except BlockingIOError:
            tries.append("busy")
        finally:
            os.close(descriptor)

    def try_from_another_thread():
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(timeout=10)

    with project_lock(path):
        with project_lock(path):  # nested use does not wait on itself
            assert holds_project_lock(path)
        try_from_another_thread()
    try_from_another_thread()
    assert tries == ["busy", "got it"] and not holds_project_lock(path)


@pytest.mark.parametrize("approval", ["approved", "rejected"])
def test_approving_a_chunk_while_its_scene_generates_stops_nothing_and_is_kept(tmp_path, preset, approval):
    """Bug caught: the generator's save compared the scene's whole `chunks` record, approval included, so
    approving or rejecting a finished chunk mid-generation raised SceneChangedError (the generation stopped),
    or the generator wrote its own copy back over the approval."""
    path = make_project(tmp_path / "p")
    list(generate_scene(path, preset, "s1", num_chunks=1))

    def approve_chunk_0():  # the Approve button (or `approve --chunk 0`) pressed while chunks 1-2 are made
        set_approval(path, "s1", 0, approval)

    events = list(generate_scene(path, preset, "s1", num_chunks=3, stop=EditOnce(approve_chunk_0)))
    assert [e.index for e in events] == [1, 2]
    scene = load_project(path).script.scene("s1")
    assert [c.status for c in scene.chunks] == ["ready"] * 3
    assert [c.approval for c in scene.chunks] == [approval, "pending", "pending"]
