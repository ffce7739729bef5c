"""The write order, proved deterministically: the process "dies" at every write point in turn.

Every file of a project is written through a temporary file (tempfile.mkstemp) that is renamed into
place (os.replace), and the migration of a version-1 project moves files with os.replace. For each N,
the Nth of those calls during one chunk, one regeneration (which keeps the old version as a take), one
take switch, one export or one migration raises, and so does every call after it (a dead process writes
nothing more). After each death the project must open, every chunk it calls ready and every take it
records must hold exactly the frames its recorded seeds make, a draft it shows must be of the active
takes, opening it sweeps what the death left, and resuming must finish with the video an uninterrupted
run makes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile

import pytest

from studio.export.stage import export_project
from studio.generate.stage import generate_scene, regenerate_chunk
from studio.generate.takes import use_take
from studio.media.video import chunk_shape, load_frames, load_scene_frames, read_video
from studio.project.draft import current_draft
from studio.project.layout import open_project
from tests.chunk_files import to_version_1
from studio.project.lock import LOCK_FILE
from studio.project.paths import ProjectPaths
from studio.project.model import Scene, Script, load_project, new_project, save_project

NEW_SEED = 4242


class Killed(BaseException):
    """The simulated death: a BaseException, so no `except Exception` handler can tidy up after it."""


class WritePoints:
    """Counts mkstemp and os.replace calls; from call number `kill_at` on, each one raises Killed."""

    def __init__(self, monkeypatch, kill_at: int | None = None):
        self.count, self.kill_at = 0, kill_at
        for module, name in ((tempfile, "mkstemp"), (os, "replace")):
            monkeypatch.setattr(module, name, self._wrap(getattr(module, name)))

    def _wrap(self, real):
        def point(*args, **kwargs):
            self.count += 1
            if self.kill_at is not None and self.count >= self.kill_at:
                raise Killed(f"killed at write point {self.count}")
            return real(*args, **kwargs)
        return point


@pytest.fixture(scope="module")
def preset(tiny_preset):
    # The tiny models at 16x16 and 2 steps: seeds matter (as in a real run), and a chunk takes a blink.
    streaming = dataclasses.replace(tiny_preset.streaming, width=16, height=16, steps=2, max_chunks=4)
    return dataclasses.replace(tiny_preset, streaming=streaming)


def make_project(path):
    scene = Scene(id="s1", title="fox", event="a fox runs", background="a forest", n_chunks=2, seed=7)
    save_project(new_project("p", "tiny", Script(prompt="a fox", scenes=[scene])), path)
    return path


def digest(path) -> str:
    return hashlib.sha256(load_frames(path).tobytes()).hexdigest()


def chunk_digests(path) -> dict[tuple[int, ...], str]:
    """Each chunk's frames, keyed by the seeds of the chunks up to it (what its frames depend on)."""
    chunks = load_project(path).script.scene("s1").chunks
    return {tuple(c.seed for c in chunks[: i + 1]): digest(ProjectPaths(path).chunk_frames("s1", c))
            for i, c in enumerate(chunks)}


@pytest.fixture(scope="module")
def references(tmp_path_factory, preset):
    """Uninterrupted runs: the scene as planned, and with chunk 0 regenerated with NEW_SEED."""
    root = tmp_path_factory.mktemp("write_points")
    one = make_project(root / "one")
    list(generate_scene(one, preset, "s1", num_chunks=1))
    two = root / "two"
    shutil.copytree(one, two)
    list(generate_scene(two, preset, "s1", num_chunks=2))
    regenerated = root / "regenerated"
    shutil.copytree(two, regenerated)
    regenerate_chunk(regenerated, preset, "s1", 0, seed=NEW_SEED)
    list(generate_scene(regenerated, preset, "s1"))
    digests = {**chunk_digests(two), **chunk_digests(regenerated)}
    assert len(digests) == 4  # the new seed changes both chunks: a mix-up cannot go unseen
    assert [len(c.takes) for c in load_project(regenerated).script.scene("s1").chunks] == [1, 1]  # the old versions
    return {"one": one, "two": two, "regenerated": regenerated, "digests": digests}


def version_key(chunks, index: int, number: int) -> tuple[int, ...]:
    """The seeds a version of chunk `index` depends on, following after_take down to chunk 0."""
    chunk = chunks[index]
    version = chunk if number == chunk.take else next(t for t in chunk.takes if t.number == number)
    if index == 0:
        return (version.seed,)
    return version_key(chunks, index - 1, version.after_take or 1) + (version.seed,)


def check_project(path, preset, digests) -> None:
    """It opens, every ready chunk holds exactly the frames its recorded seeds make, and so does every take."""
    scene = load_project(path).script.scene("s1")
    for i, chunk in enumerate(scene.chunks):
        if chunk.status == "ready":
            key = tuple(c.seed for c in scene.chunks[: i + 1])
            assert key in digests, f"chunk {i} is ready under seeds {key}, which no run makes"
            frames = load_frames(ProjectPaths(path).chunk_frames("s1", chunk), chunk_shape(preset.streaming, i))
            assert hashlib.sha256(frames.tobytes()).hexdigest() == digests[key], f"chunk {i} holds other frames"
        for take in chunk.takes:  # a take on record is complete on disk and holds what its record says
            key = version_key(scene.chunks, i, take.number)
            frames = load_frames(ProjectPaths(path).take_frames("s1", i, take.number), chunk_shape(preset.streaming, i))
            assert hashlib.sha256(frames.tobytes()).hexdigest() == digests[key], f"take {take.number} of chunk {i}"
            assert ProjectPaths(path).take_preview("s1", i, take.number).is_file()
    draft = current_draft(ProjectPaths(path), scene)  # a draft shown is one of the active takes, whatever the kill
    if draft is not None:
        assert len(read_video(draft)[0]) == len(load_scene_frames(path, scene))


def check_opens_clean(path) -> None:
    """Opening sweeps what a death left: no temp file, no take file without a record, a current draft."""
    project = open_project(path)
    scene = project.script.scene("s1")
    assert [p.name for p in (path / "scenes").rglob(".*")] == []
    recorded = {ProjectPaths(path).take_file("s1", c.index, n, kind) for c in scene.chunks
                for n in [c.take, *(t.number for t in c.takes)] for kind in ("npz", "mp4")}
    assert set((path / "scenes/s1/chunks").rglob("take_*")) <= recorded
    if scene.chunks and scene.chunks[0].status == "ready":
        assert current_draft(ProjectPaths(path), scene) is not None


def count_points(monkeypatch, action) -> int:
    points = WritePoints(monkeypatch)
    action()
    monkeypatch.undo()
    return points.count


def die_at_each_point(tmp_path, monkeypatch, source, action, check) -> int:
    """Copy `source`, run `action` dying at write point N, `check` the copy; for every N. Returns the count."""
    probe = tmp_path / "probe"
    shutil.copytree(source, probe)
    total = count_points(monkeypatch, lambda: action(probe))
    assert total >= 4  # at least two files (a video, a record or a timeline), each a temp file and a rename
    for kill_at in range(1, total + 1):
        path = tmp_path / f"killed-{kill_at}"
        shutil.copytree(source, path)
        WritePoints(monkeypatch, kill_at)
        with pytest.raises(Killed):
            action(path)
        monkeypatch.undo()
        check(path)
    return total


def test_death_at_every_write_of_a_chunk(tmp_path, monkeypatch, preset, references):
    def check(path):
        check_project(path, preset, references["digests"])
        check_opens_clean(path)
        list(generate_scene(path, preset, "s1", num_chunks=2))  # resume
        assert chunk_digests(path) == chunk_digests(references["two"])

    die_at_each_point(tmp_path, monkeypatch, references["one"], lambda p: list(generate_scene(p, preset, "s1", num_chunks=2)),
                      check)


def test_death_at_every_write_of_a_regeneration(tmp_path, monkeypatch, preset, references):
    def check(path):
        check_project(path, preset, references["digests"])
        check_opens_clean(path)
        list(generate_scene(path, preset, "s1"))  # resume: remakes whatever is stale with its recorded seed
        check_project(path, preset, references["digests"])
        assert all(c.status == "ready" for c in load_project(path).script.scene("s1").chunks)

    die_at_each_point(tmp_path, monkeypatch, references["two"],
                      lambda p: regenerate_chunk(p, preset, "s1", 0, seed=NEW_SEED), check)


def test_death_at_every_write_of_a_take_switch(tmp_path, monkeypatch, preset, references):
    def check(path):
        check_project(path, preset, references["digests"])
        check_opens_clean(path)
        use_take(path, preset, "s1", 0, 1)  # again: finishes an interrupted switch, or changes nothing
        assert use_take(path, preset, "s1", 1, 1).ready == []  # chunk 1's take made from chunk 0's take 1
        check_project(path, preset, references["digests"])
        assert all(c.status == "ready" for c in load_project(path).script.scene("s1").chunks)
        assert chunk_digests(path) == chunk_digests(references["two"])

    die_at_each_point(tmp_path, monkeypatch, references["regenerated"], lambda p: use_take(p, preset, "s1", 0, 1), check)


def test_death_at_every_write_of_an_export(tmp_path, monkeypatch, preset, references):
    def check(path):
        if (path / "final.mp4").exists():  # renamed into place only once it is whole
            assert len(read_video(path / "final.mp4")[0]) == 16 + 8
        for leftover in (path / ".final.mp4.x1y2.mp4", path / "export" / ".s1.mp4.x1y2.mp4"):  # what a SIGKILL leaves
            leftover.parent.mkdir(exist_ok=True)
            leftover.write_bytes(b"half a video")
        result = export_project(path, preset)  # the rerun finishes and leaves no temporary files behind
        assert result.num_frames == 16 + 8
        leftovers = [p.name for p in path.rglob(".*") if p.is_file() and p.name != LOCK_FILE]  # the lock is no leftover
        assert leftovers == []

    die_at_each_point(tmp_path, monkeypatch, references["two"], lambda p: export_project(p, preset), check)


def test_death_at_every_write_of_a_migration(tmp_path, monkeypatch, preset, references):
    """A version-1 project (active versions at chunk_XXX.*, other takes under takes/, paths in the records)
    killed at every rename and write of its migration opens, migrates on the next open, and keeps every version."""
    old = tmp_path / "old"
    shutil.copytree(references["regenerated"], old)
    expected = {(c.index, n): digest(ProjectPaths(old).take_frames("s1", c.index, n))
                for c in load_project(old).script.scene("s1").chunks for n in [c.take, *(t.number for t in c.takes)]}
    assert len(expected) == 4  # two chunks with two versions each
    to_version_1(old)

    def check(path):
        project = load_project(path)  # opens: the migration finishes
        assert json.loads((path / "project.json").read_text())["version"] == 2
        check_project(path, preset, references["digests"])
        check_opens_clean(path)
        chunks = project.script.scene("s1").chunks
        assert {(c.index, n): digest(ProjectPaths(path).take_frames("s1", c.index, n))
                for c in chunks for n in [c.take, *(t.number for t in c.takes)]} == expected  # no version lost
        assert not (path / "scenes/s1/takes").exists() and not list((path / "scenes/s1").glob("chunk_*"))
        assert chunk_digests(path) == chunk_digests(references["regenerated"])

    total = die_at_each_point(tmp_path, monkeypatch, old, load_project, check)
    assert total >= 8 + 4  # eight files moved, then project.json (and its backup) written
