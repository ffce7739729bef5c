"""Per-chunk drift checks on synthetic projects (offline): faults are flagged, untouched chunks are not."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from studio.cli import main
from studio.config import load_preset
from studio.media.video import save_frames
from studio.project.model import Chunk, Entity, Scene, Script, new_project, save_project
from studio.project.paths import ProjectPaths
from studio.qa.check import check_project

SIZE = 48
CHUNKS = 4


def moving_pattern(num_frames: int, seed: int) -> np.ndarray:
    """A textured picture sliding right 1 px per frame, with its own colours per seed: (T, H, W, 3)."""
    rng = np.random.default_rng(seed)
    base, phase = rng.integers(60, 180, 3), rng.uniform(0, 6, 3)
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    frames = [np.stack([base[c] + 45 * np.sin((x - t) / 5 + phase[c]) + 30 * np.cos((y + x) / 7) for c in range(3)], -1)
              for t in range(num_frames)]
    return np.clip(frames, 0, 255).astype(np.uint8)


def chunk_slices() -> list[slice]:
    """Chunk 0 adds 16 frames, each later chunk 8 (what its frames file holds)."""
    return [slice(0, 16)] + [slice(16 + 8 * (k - 1), 16 + 8 * k) for k in range(1, CHUNKS)]


def make_project(root, fault=None):
    """Scenes a and b, 4 chunks each of continuous motion; `fault(frames_a, frames_b)` edits chunk a/2."""
    project_dir = root / "p"
    paths = ProjectPaths(project_dir)
    scenes = []
    videos = {"a": moving_pattern(40, seed=1), "b": moving_pattern(40, seed=7)}
    for sid, video in videos.items():
        scene = Scene(id=sid, title=sid.upper(), event=f"event {sid}", entity_ids=["fox"])
        for k, part in enumerate(chunk_slices()):
            frames = video[part]
            if sid == "a" and k == 2 and fault is not None:
                frames = fault(frames, videos["b"][part])
            save_frames(frames, paths.take_frames(sid, k, 1))
            scene.chunks.append(Chunk(index=k, seed=k, prompt="p"))
        scenes.append(scene)
    from PIL import Image

    paths.entity_image("fox").parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(videos["a"][0]).save(paths.entity_image("fox"))
    entity = Entity(id="fox", name="fox", status="approved")
    save_project(new_project("p", "animatic", Script(prompt="x", scenes=scenes, entities=[entity])), project_dir)
    return project_dir


def flags(report, scene="a") -> list[bool]:
    return [row.flagged for row in report.for_scene(scene)]


@pytest.fixture(scope="module")
def animatic():
    return load_preset("animatic")


def test_untouched_chunks_are_not_flagged(tmp_path, animatic):
    report = check_project(make_project(tmp_path), animatic)
    assert len(report.chunks) == 2 * CHUNKS
    assert not report.flagged(), [r.reason for r in report.flagged()]
    # Continuous motion: each seam moves like the chunk around it.
    assert all(0.5 < r.seam_flow_ratio < 2 for r in report.chunks if r.chunk > 0)
    assert "no image-embedding model" in report.notes[0]


def test_a_colour_shifted_chunk_is_flagged_for_colour_drift(tmp_path, animatic):
    def regrade(frames, _):
        return np.clip(frames.astype(int) + [45, 0, -45], 0, 255).astype(np.uint8)

    report = check_project(make_project(tmp_path, regrade), animatic)
    rows = report.for_scene("a")
    assert flags(report) == [False, False, True, True]  # chunk 3 jumps back at its seam
    assert "colour drift" in rows[2].reason and rows[2].colour_shift > 20
    assert "colour drift" not in rows[3].reason and "seam" in rows[3].reason
    assert not any(flags(report, "b"))


def test_a_chunk_replaced_by_another_scenes_frames_is_flagged(tmp_path, animatic):
    report = check_project(make_project(tmp_path, lambda _, other: other), animatic)
    rows = report.for_scene("a")
    assert flags(report) == [False, False, True, True]
    assert "seam" in rows[2].reason
    assert rows[2].colour_shift > 20


def test_similarity_runs_with_the_tiny_clip_and_flags_below_its_limit(tmp_path):
    tiny = load_preset("tiny")
    project_dir = make_project(tmp_path)
    report = check_project(project_dir, tiny, "a")
    assert report.notes == []
    assert all(-1 <= r.anchor_similarity <= 1 and -1 <= r.reference_similarity <= 1 for r in report.chunks)
    assert not report.flagged()  # the tiny preset turns the similarity limits off
    strict = dataclasses.replace(tiny, qa=dataclasses.replace(tiny.qa, min_anchor_similarity=1.01))
    report = check_project(project_dir, strict, "a")
    assert all(r.flagged and "similarity to the anchor" in r.reason for r in report.chunks)


def test_a_missing_chunk_file_is_flagged_and_the_rest_checked(tmp_path, animatic):
    project_dir = make_project(tmp_path)
    ProjectPaths(project_dir).take_frames("a", 1, 1).unlink()
    rows = check_project(project_dir, animatic, "a").chunks
    assert [r.flagged for r in rows] == [False, True, False, False]
    assert "missing or corrupt" in rows[1].reason
    assert rows[2].seam_flow is None  # no frames before it to compare its seam with


def test_cli_json_and_plots(tmp_path, capsys):
    project_dir = make_project(tmp_path, lambda frames, _: 255 - frames)
    plots = tmp_path / "plots"
    assert main(["qa", str(project_dir), "--json", "--scene", "a", "--plots", str(plots)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(c["scene"], c["chunk"], c["flagged"]) for c in data["chunks"]] == [
        ("a", 0, False), ("a", 1, False), ("a", 2, True), ("a", 3, True)]
    assert {"colour_shift", "seam_flow_ratio", "anchor_similarity", "reason"} <= set(data["chunks"][0])
    assert (plots / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["qa", str(project_dir), "--scene", "nope"]) == 2
    assert "scene 'nope' is not in the script" in capsys.readouterr().err


def test_a_fifo_in_place_of_a_chunk_or_an_image_is_skipped_not_waited_on(tmp_path):
    """Bug caught: `qa` opened a chunk file (or a reference image) that was a FIFO and waited for a writer
    for ever; only regular files are opened."""
    import os
    import subprocess
    import sys

    project_dir = make_project(tmp_path)
    paths = ProjectPaths(project_dir)
    for fifo in (paths.take_frames("a", 1, 1), paths.entity_image("fox")):
        fifo.unlink()
        os.mkfifo(fifo)
    try:
        done = subprocess.run([sys.executable, "-m", "studio", "qa", str(project_dir), "--json", "--scene", "a",
                               "--preset", "animatic"], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("qa waited on a FIFO")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["chunks"]
    assert [r["flagged"] for r in rows] == [False, True, False, False]
    assert "missing or corrupt" in rows[1]["reason"]
