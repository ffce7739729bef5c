"""Stage 3 on a real local Ray cluster (2 CPU workers, tiny models at 16x16): the same chunks as
in-process, bit for bit; a worker killed mid-scene costs no finished chunk; unshared folders work;
without --cluster nothing of Ray is imported."""

from __future__ import annotations

import os

import numpy as np
import pytest
import yaml

from studio.config import PRESETS_DIR, load_preset
from studio.generate.stage import generate_project
from studio.media.video import load_frames
from studio.project.model import Scene, Script, load_project, new_project, save_project
from tests.chunk_files import chunk_npz

ray = pytest.importorskip("ray")

SCENES = ("s0", "s1", "s2")


@pytest.fixture(scope="module")
def preset_file(tmp_path_factory):
    """tiny at 16x16 with 2 steps: the same code paths, four times less work (a file, for the CLI)."""
    data = yaml.safe_load((PRESETS_DIR / "tiny.yaml").read_text())
    data["streaming"].update(width=16, height=16, steps=2)
    path = tmp_path_factory.mktemp("preset") / "tiny16.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def preset(preset_file):
    return load_preset(preset_file)


@pytest.fixture(scope="module")
def local_ray():
    """One Ray start-up for the module: 2 CPUs, so 2 workers."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture
def cluster(local_ray):
    from studio.cluster.connect import connect, shutdown

    cluster = connect("local", 2)
    yield cluster
    shutdown(cluster)


def make_project(path, n_chunks=2):
    scenes = [Scene(id=sid, title=sid, event=f"a fox runs {i}", background="a forest", n_chunks=n_chunks, seed=7 + i)
              for i, sid in enumerate(SCENES)]
    save_project(new_project("p", "tiny", Script(prompt="a fox", scenes=scenes)), path)
    return path


@pytest.fixture(scope="module")
def reference(tmp_path_factory, preset):
    """The in-process run of the three-scene project, two chunks each."""
    path = make_project(tmp_path_factory.mktemp("reference") / "p")
    list(generate_project(path, preset))
    return path


def assert_same_chunks(path, reference, n_chunks):
    scenes = load_project(path).script.scenes
    assert [[c.status for c in s.chunks] for s in scenes] == [["ready"] * n_chunks] * 3  # no scene lost its records
    from studio.project.paths import ProjectPaths

    references = {scene.id: scene for scene in load_project(reference).script.scenes}
    for scene in scenes:  # each chunk's active take, at the path computed from its ids
        for chunk, expected in zip(scene.chunks, references[scene.id].chunks):
            made = ProjectPaths(path).chunk_frames(scene.id, chunk)
            wanted = ProjectPaths(reference).chunk_frames(scene.id, expected)
            assert np.array_equal(load_frames(made), load_frames(wanted)), made


def test_cli_on_two_workers_is_bit_identical_to_in_process(local_ray, tmp_path, preset_file, reference):
    from studio.cli import main

    path = make_project(tmp_path / "p")
    code = main(["generate", str(path), "--preset", str(preset_file), "--chunks", "2", "--cluster", "local",
                 "--workers", "2"])
    assert code == 0
    assert_same_chunks(path, reference, 2)
    assert (path / "scenes" / "s2" / "draft.mp4").is_file()


def test_a_killed_worker_costs_no_finished_chunk(cluster, tmp_path, preset, reference):
    from studio.cluster.scheduler import generate_project_on_cluster

    path = make_project(tmp_path / "p")
    seen, finished_chunk0 = [], None
    for event in generate_project_on_cluster(cluster, path, preset):
        seen.append((event.scene_id, event.index))
        if finished_chunk0 is None and event.scene_id == "s0":
            assert event.index == 0
            finished_chunk0 = os.stat(event.frames_path)
            ray.kill(cluster.busy["s0"])  # mid-scene: it is making chunk 1 now
    assert len(cluster.actors) == 1  # the killed one was noticed and dropped
    assert sorted(seen) == sorted(set(seen)) == [(s, i) for s in SCENES for i in range(2)]  # nothing made twice
    after = os.stat(chunk_npz(path, "s0", 0))
    assert (after.st_ino, after.st_mtime_ns) == (finished_chunk0.st_ino, finished_chunk0.st_mtime_ns)  # kept, not remade
    assert_same_chunks(path, reference, 2)


def test_without_a_shared_folder_the_head_writes_the_files(cluster, tmp_path, preset, reference, monkeypatch):
    """Workers on a folder the head does not share send back every file a chunk changes, the scene's draft
    included. Catches a worker that does not send the draft back (the head would keep no draft, or an old one)."""
    from studio.cluster import scheduler
    from studio.media.video import read_video

    monkeypatch.setattr(scheduler, "shares_folder", lambda cluster, folder: False)
    path = make_project(tmp_path / "p")
    events = list(scheduler.generate_project_on_cluster(cluster, path, preset, num_chunks=2))
    assert all(event.frames_path.is_relative_to(path) and event.frames_path.is_file() for event in events)
    assert_same_chunks(path, reference, 2)
    assert (path / "scenes" / "s0" / "anchor.png").is_file()
    from studio.project.paths import ProjectPaths

    for scene_id in SCENES:  # the head's drafts are the in-process run's: the whole scene, 24 frames
        draft, _ = read_video(ProjectPaths(path).draft(scene_id))
        assert np.array_equal(draft, read_video(ProjectPaths(reference).draft(scene_id))[0]), scene_id


def _worker_threads(cluster) -> list[int]:
    import torch

    return ray.get([actor.__ray_call__.remote(lambda worker: torch.get_num_threads()) for actor in cluster.actors])


def test_workers_run_with_the_heads_torch_threads(cluster, tmp_path, preset):
    """Every worker that makes a scene runs torch with the head's CPU thread count, since a CPU sum split over
    another number of threads rounds differently (the chunks would not be bit-identical to an in-process run).
    The head runs with 1 thread here, a count the workers do not start with (they inherit the test's 2), so
    this catches workers that keep the thread count Ray started them with."""
    import torch

    from studio.cluster.scheduler import generate_project_on_cluster

    path = tmp_path / "p"
    scenes = [Scene(id=f"t{i}", title="t", event="a fox runs", background="a forest", n_chunks=1, seed=i) for i in range(2)]
    save_project(new_project("p", "tiny", Script(prompt="a fox", scenes=scenes)), path)
    head = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert 1 not in _worker_threads(cluster), "fresh workers already have the head's threads: nothing to check"
        events = list(generate_project_on_cluster(cluster, path, preset))
        assert len(events) == 2 and _worker_threads(cluster) == [1, 1]  # two scenes, one on each free worker
    finally:
        torch.set_num_threads(head)


def test_bad_cluster_and_workers_are_one_line_errors(capsys, tmp_path):
    from studio.cli import main

    path = make_project(tmp_path / "p")
    assert main(["generate", str(path), "--cluster", "nowhere"]) == 2
    assert "local, auto or ray://HOST:PORT" in capsys.readouterr().err
    assert main(["generate", str(path), "--workers", "2"]) == 2
    assert "--workers needs --cluster" in capsys.readouterr().err


def test_without_a_cluster_nothing_of_ray_is_imported():
    import subprocess
    import sys

    code = ("import sys; from studio.cli import build_parser; build_parser(); import studio.generate.stage, studio.ui; "
            "assert 'ray' not in sys.modules, 'ray imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
