"""Crash safety of the chunk loop, with real processes: SIGKILL at any moment, then resume; Ctrl-C.

A run killed with SIGKILL must leave a readable project.json and only whole chunk files counted as
ready; resuming must finish the video without redoing finished chunks, bit-identical to a run that
was never interrupted (every chunk's seed is recorded and its memory comes from disk).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from studio.media.video import load_frames, load_scene_frames
from studio.project.model import Scene, Script, load_project, new_project, save_project
from studio.project.paths import ProjectPaths

CHUNKS = 5


def make_project(path: Path) -> Path:
    scene = Scene(id="s1", title="fox", event="a fox runs", background="a forest", n_chunks=CHUNKS, seed=3)
    save_project(new_project("crash", "tiny", Script(prompt="a fox runs", scenes=[scene])), path)
    return path


def studio(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "studio", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def ready_chunks(path: Path) -> int:
    try:
        data = json.loads((path / "project.json").read_text())
    except (OSError, ValueError):
        return 0
    return sum(1 for c in data["script"]["scenes"][0]["chunks"] if c["status"] == "ready")


def wait_for_chunks(process: subprocess.Popen, path: Path, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while ready_chunks(path) < count:
        assert process.poll() is None, process.communicate()[1][-2000:]
        assert time.monotonic() < deadline, f"no {count} chunks after {timeout} s"
        time.sleep(0.02)


def check_consistent(path: Path) -> int:
    """project.json loads, and every chunk it calls ready has a whole frames file."""
    scene = load_project(path).script.scene("s1")
    ready = [c for c in scene.chunks if c.status == "ready"]
    for chunk in ready:
        frames = load_frames(ProjectPaths(path).chunk_frames("s1", chunk))  # raises on a truncated file
        assert frames.shape[0] == (16 if chunk.index == 0 else 8)
    return len(ready)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The same scene made in one uninterrupted run."""
    path = make_project(tmp_path_factory.mktemp("reference") / "p")
    process = studio("generate", str(path), "--preset", "tiny")
    assert process.wait(timeout=300) == 0, process.communicate()[1][-2000:]
    return load_scene_frames(path, load_project(path).script.scene("s1"))


@pytest.mark.parametrize("kill_after_chunks, extra_delay", [(1, 0.0), (3, 0.15)])
def test_sigkill_then_resume_gives_the_uninterrupted_video(tmp_path, reference, kill_after_chunks, extra_delay):
    path = make_project(tmp_path / "p")
    process = studio("generate", str(path), "--preset", "tiny")
    wait_for_chunks(process, path, kill_after_chunks)
    time.sleep(extra_delay)  # somewhere inside the next chunk: denoising or writing files
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)

    survived = check_consistent(path)
    assert kill_after_chunks <= survived < CHUNKS
    before = {c.index: ProjectPaths(path).chunk_frames("s1", c).stat().st_mtime_ns
              for c in load_project(path).script.scene("s1").chunks if c.status == "ready"}

    resume = studio("generate", str(path), "--preset", "tiny")
    out, err = resume.communicate(timeout=300)
    assert resume.returncode == 0, err[-2000:]
    made_again = [line for line in out.splitlines() if re.match(r"\S+ chunk \d+: ", line)]  # not the anchor line
    assert len(made_again) == CHUNKS - survived  # finished chunks are not redone
    scene = load_project(path).script.scene("s1")
    assert all(ProjectPaths(path).chunk_frames("s1", scene.chunks[i]).stat().st_mtime_ns == mtime
               for i, mtime in before.items())
    assert np.array_equal(load_scene_frames(path, scene), reference)
    assert not [p.name for p in (path / "scenes" / "s1").rglob(".*")]  # temp files swept (the takes' folders too)


def test_ctrl_c_stops_after_the_current_step_and_keeps_finished_chunks(tmp_path):
    path = make_project(tmp_path / "p")
    process = studio("generate", str(path), "--preset", "tiny")
    wait_for_chunks(process, path, 1)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err[-2000:]
    assert "stopped; finished chunks are kept" in out
    assert "Traceback" not in err
    kept = check_consistent(path)
    assert 1 <= kept < CHUNKS
    assert not [p.name for p in (path / "scenes" / "s1").iterdir() if p.name.startswith(".")]  # no half-written files
