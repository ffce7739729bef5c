"""No change is left half done: a regeneration that fails late, and a chunk count lowered then raised."""

from __future__ import annotations

import dataclasses
import errno

import pytest

from studio.media import video
from studio.generate.stage import generate_scene, regenerate_chunk
from studio.project.model import Scene, Script, load_project, new_project, save_project

NEW_SEED = 4242


@pytest.fixture(scope="module")
def preset(tiny_preset):
    streaming = dataclasses.replace(tiny_preset.streaming, width=16, height=16, steps=2, max_chunks=4)
    return dataclasses.replace(tiny_preset, streaming=streaming)


def make_project(path, n_chunks=2):
    scene = Scene(id="s1", title="fox", event="a fox runs", background="a forest", n_chunks=n_chunks, seed=7)
    save_project(new_project("p", "tiny", Script(prompt="a fox", scenes=[scene])), path)
    return path


def scene_files(path) -> dict[str, bytes]:
    folder = path / "scenes" / "s1"
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.startswith(".")}


def test_a_regeneration_that_fails_joining_the_draft_leaves_the_old_chunk(tmp_path, monkeypatch, preset):
    path = make_project(tmp_path / "p")
    list(generate_scene(path, preset, "s1"))
    before_scene, before_files = load_project(path).script.scene("s1"), scene_files(path)

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(video, "concat_mp4", disk_full)  # the new take's frames and preview are written by then
    with pytest.raises(OSError, match="No space left"):
        regenerate_chunk(path, preset, "s1", 0, seed=NEW_SEED)
    monkeypatch.undo()
    # The old record with the old frames, preview and draft: nothing of the new chunk is half in place.
    assert load_project(path).script.scene("s1") == before_scene
    assert scene_files(path) == before_files
    # And the regeneration still works once there is room.
    event = regenerate_chunk(path, preset, "s1", 0, seed=NEW_SEED)
    chunks = load_project(path).script.scene("s1").chunks
    assert event.stale == [1] and [(c.seed, c.status) for c in chunks] == [(NEW_SEED, "ready"), (chunks[1].seed, "stale")]
    assert scene_files(path)["chunks/000/take_02.npz"] != before_files["chunks/000/take_01.npz"]
