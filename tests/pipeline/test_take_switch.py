"""Switching takes: one record write and the derived draft, the take asked for, never half applied.

On the animatic preset at 32x32 (no models; the animatic ignores seeds, so new versions get new prompts).
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile

import numpy as np
import pytest

from studio.cli import main
from studio.export.stage import scene_source
from studio.generate.stage import regenerate_chunk
from studio.generate.takes import use_take
from studio.media.video import load_frames, read_video
from studio.project.approval import set_approval
from studio.project.draft import current_draft
from studio.project.model import load_project
from studio.project.paths import ProjectPaths
from studio.refine.stage import refine_scene
from tests.pipeline.animatic_projects import animatic32, animatic32_file, changed, three_takes, tree  # noqa: F401


@pytest.fixture(scope="module")
def made(tmp_path_factory, animatic32):
    """Two scenes of three chunks; chunk 1 of s1 remade twice: takes 1 and 2 stored, take 3 active."""
    return three_takes(tmp_path_factory.mktemp("switch") / "p", animatic32)


@pytest.fixture
def project(made, tmp_path):
    path = tmp_path / "p"
    shutil.copytree(made, path)
    return path


def take_frames(path, index: int, number: int) -> np.ndarray:
    return load_frames(ProjectPaths(path).take_frames("s1", index, number))


def active_frames(path, index: int) -> np.ndarray:
    return load_frames(ProjectPaths(path).chunk_frames("s1", load_project(path).script.scene("s1").chunks[index]))


def test_switching_to_take_n_among_several_loads_take_n(project, animatic32):
    """Catches a switch that takes another stored take than the one asked for (the first stored, say)."""
    stored = {n: take_frames(project, 1, n) for n in (1, 2, 3)}
    assert not np.array_equal(stored[1], stored[2]) and not np.array_equal(stored[2], stored[3])
    for number in (2, 1, 3, 2):
        assert use_take(project, animatic32, "s1", 1, number).take == number
        assert load_project(project).script.scene("s1").chunks[1].take == number
        assert np.array_equal(active_frames(project, 1), stored[number]), number


def test_a_switch_writes_only_project_json_and_the_draft(project, animatic32_file):
    """Catches a switch that copies, moves or rewrites a take's files (or any other file): every file's
    bytes, inode and modification time are compared."""
    before = tree(project)
    assert main(["takes", str(project), "--scene", "s1", "--chunk", "1", "--use", "1", "--preset",
                 str(animatic32_file)]) == 0
    assert changed(before, tree(project)) == {"project.json", "project.json.bak", "scenes/s1/draft.mp4",
                                               "scenes/s1/draft.takes.json"}


def test_a_take_switch_marks_the_refined_video_outdated_and_export_uses_the_draft(project, animatic32):
    """Catches a switch that leaves the refined video current: export would ship a refined video of other frames."""
    refine_scene(project, animatic32, "s1")
    scene = load_project(project).script.scene("s1")
    assert not scene.refined_outdated and scene_source(project, scene).kind == "refined"
    use_take(project, animatic32, "s1", 1, 1)
    scene = load_project(project).script.scene("s1")
    assert scene.refined_outdated and scene_source(project, scene).kind == "draft"


class DiskFull:
    """From write call number `at` on (mkstemp or os.replace), every one fails with ENOSPC."""

    def __init__(self, monkeypatch, at: int | None = None):
        self.count, self.at = 0, at
        for module, name in ((tempfile, "mkstemp"), (os, "replace")):
            monkeypatch.setattr(module, name, self._wrap(getattr(module, name)))

    def _wrap(self, real):
        def call(*args, **kwargs):
            self.count += 1
            if self.at is not None and self.count >= self.at:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(*args, **kwargs)
        return call


def test_a_full_disk_during_takes_use_leaves_nothing_half_applied(project, tmp_path, monkeypatch, capsys, animatic32_file):
    """Catches a switch left half applied behind an error line (the record saved before the draft, say): at
    every write the disk can fill, the command fails in one line with the records as they were, no take file
    changes, a draft shown is of the active takes, and with room again the same command goes through."""
    argv = ["takes", None, "--scene", "s1", "--chunk", "1", "--use", "1", "--preset", str(animatic32_file)]
    old_scene = load_project(project).script.scene("s1")
    done = tmp_path / "done"
    shutil.copytree(project, done)
    probe = DiskFull(monkeypatch)
    assert main([a if a is not None else str(done) for a in argv]) == 0
    monkeypatch.undo()
    total = probe.count
    new_scene = load_project(done).script.scene("s1")
    drafts = {str(old_scene.chunks[1].take): read_video(project / "scenes/s1/draft.mp4")[0],
              "1": read_video(done / "scenes/s1/draft.mp4")[0]}
    takes_before = {name: state[0] for name, state in tree(project).items() if "/chunks/" in name}
    assert total >= 4
    for at in range(1, total + 1):
        path = tmp_path / f"full-{at}"
        shutil.copytree(project, path)
        DiskFull(monkeypatch, at)
        code = main([a if a is not None else str(path) for a in argv])
        monkeypatch.undo()
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and "no space left" in err.lower(), (at, err)
        scene = load_project(path).script.scene("s1")
        assert scene == old_scene, at  # an error line means nothing was applied
        assert {name: state[0] for name, state in tree(path).items() if "/chunks/" in name} == takes_before
        draft = current_draft(ProjectPaths(path), scene)
        if draft is not None:
            assert np.array_equal(read_video(draft)[0], drafts[str(scene.chunks[1].take)]), at
        assert main([a if a is not None else str(path) for a in argv]) == 0  # with room again, it goes through
        assert load_project(path).script.scene("s1") == new_scene


def test_keep_later_heals_both_sides_of_the_seam(project, animatic32, tmp_path):
    """Catches healing that changes only chunk k+1's side (chunk k keeping its unhealed end), or either side
    outside the window: chunk k's last frames and chunk k+1's first frames are healed, the rest are not."""
    plain = tmp_path / "plain"
    shutil.copytree(project, plain)
    regenerate_chunk(plain, animatic32, "s1", 0, prompt="the fox wakes")  # the same new chunk 0, unhealed
    unhealed = active_frames(plain, 0)
    kept_next = active_frames(project, 1)
    statuses = [c.status for c in load_project(project).script.scene("s1").chunks]
    event = regenerate_chunk(project, animatic32, "s1", 0, prompt="the fox wakes", keep_later=True)
    left, right = event.seam.window
    healed, healed_next = active_frames(project, 0), active_frames(project, 1)
    assert not np.array_equal(healed[-1], unhealed[-1])  # chunk k's end, at the seam, is healed
    assert np.array_equal(healed[:len(healed) - left + 1], unhealed[:len(unhealed) - left + 1])  # untouched before
    assert not np.array_equal(healed_next[0], kept_next[0])  # chunk k+1's start is healed
    assert np.array_equal(healed_next[right - 1:], kept_next[right - 1:])  # untouched after the window
    chunks = load_project(project).script.scene("s1").chunks
    assert [c.status for c in chunks] == statuses and chunks[1].after_take == chunks[0].take  # kept as they were


def test_the_healed_chunk_starts_pending(project, animatic32):
    """Catches keep-later carrying chunk k+1's approval over to its healed frames, which nobody has seen."""
    set_approval(project, "s1", 1, "approved")
    regenerate_chunk(project, animatic32, "s1", 0, prompt="the fox wakes", keep_later=True)
    following = load_project(project).script.scene("s1").chunks[1]
    assert following.approval == "pending"
    assert [t.approval for t in following.takes if t.number == 3] == ["approved"]  # the version that was approved
