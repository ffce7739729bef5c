"""Regenerate and refine as single jobs on a free Ray worker (`--cluster local --workers 2`), on a real
local Ray cluster (2 CPU workers, tiny models at 16x16): the same files and the same project records as
in-process, whether the worker sees the project folder (it writes the files) or not (the head does)."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest
import yaml

from studio.config import PRESETS_DIR, load_preset
from studio.generate.stage import generate_project, regenerate_chunk
from studio.media.video import load_frames, read_video
from studio.project.model import Scene, Script, load_project, new_project, save_project
from studio.refine.stage import refine_scene
from tests.chunk_files import chunk_npz

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def preset_file(tmp_path_factory):
    data = yaml.safe_load((PRESETS_DIR / "tiny.yaml").read_text())
    data["streaming"].update(width=16, height=16, steps=2)
    data["refine"].update(width=32, height=32, steps=2)
    path = tmp_path_factory.mktemp("preset") / "tiny16.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def generated(tmp_path_factory, preset_file):
    """Two scenes of two chunks, made in-process: both runs below start from copies of it."""
    path = tmp_path_factory.mktemp("generated") / "p"
    scenes = [Scene(id=f"s{i}", title=f"s{i}", event=f"a fox runs {i}", background="a forest", n_chunks=2, seed=3 + i)
              for i in range(2)]
    save_project(new_project("p", "tiny", Script(prompt="a fox", scenes=scenes)), path)
    list(generate_project(path, load_preset(preset_file)))
    return path


def copies(generated, tmp_path):
    return [shutil.copytree(generated, tmp_path / name) for name in ("in-process", "cluster")]


def without_times(scene):
    """The chunk records without the wall time and the time they were made (their takes' too)."""
    return [dataclasses.replace(chunk, seconds=0, made="",
                                takes=[dataclasses.replace(take, seconds=0, made="") for take in chunk.takes])
            for chunk in scene.chunks]


def test_regenerate_on_a_worker_is_the_in_process_regenerate(local_ray, generated, tmp_path, preset_file):
    from studio.cli import main

    here, there = copies(generated, tmp_path)
    expected = regenerate_chunk(here, load_preset(preset_file), "s1", 0, seed=99, prompt="a fox jumps")
    code = main(["regenerate", str(there), "--preset", str(preset_file), "--scene", "s1", "--chunk", "0", "--seed", "99",
                 "--prompt", "a fox jumps", "--cluster", "local", "--workers", "2"])
    assert code == 0 and expected.stale == [1]
    for index in (0, 1):
        assert np.array_equal(load_frames(chunk_npz(there, "s1", index)), load_frames(chunk_npz(here, "s1", index)))
    assert not np.array_equal(load_frames(chunk_npz(there, "s1", 0)), load_frames(chunk_npz(generated, "s1", 0)))
    theirs, ours = load_project(there).script, load_project(here).script
    assert without_times(theirs.scene("s1")) == without_times(ours.scene("s1"))  # seed, prompt, chunk 1 stale
    assert [c.status for c in theirs.scene("s1").chunks] == ["ready", "stale"]
    assert theirs.scene("s0") == ours.scene("s0")  # the other scene's record untouched


def test_refine_on_workers_without_the_folder_is_the_in_process_refine(local_ray, generated, tmp_path, preset_file,
                                                                          monkeypatch):
    from studio.cli import main
    from studio.cluster import scheduler

    monkeypatch.setattr(scheduler, "shares_folder", lambda actors, folder: False)  # the head sends and writes files
    here, there = copies(generated, tmp_path)
    preset = load_preset(preset_file)
    for scene_id in ("s0", "s1"):
        refine_scene(here, preset, scene_id, seed=5)
    code = main(["refine", str(there), "--preset", str(preset_file), "--seed", "5", "--cluster", "local", "--workers", "2"])
    assert code == 0
    theirs = load_project(there).script
    for scene_id in ("s0", "s1"):
        scene = theirs.scene(scene_id)
        refined = f"scenes/{scene_id}/refined.mp4"
        assert (there / refined).is_file() and scene.refined_outdated is False
        assert np.array_equal(read_video(there / refined)[0], read_video(here / refined)[0])
        assert (there / "scenes" / scene_id / "refined_xt.png").is_file()
    assert not list(there.rglob("*.tmp*"))  # atomic writes leave nothing behind
