"""`python -m studio bench --cluster-workers N`: scenes per minute on Ray with 1 worker, then N, in one run.

The same three-scene project is made twice from scratch (a fresh folder each time): first on one worker,
then on N, each after a warm-up scene per worker (every worker builds its models before the clock starts).
Each worker gets the same number of CPU threads in both runs (the machine's cores / N), so on a CPU the
two runs compute the same chunks, bit for bit, and the ratio measures the scale-out alone.
"""

from __future__ import annotations

import copy
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from studio.config import Preset
from studio.errors import StudioError

logger = logging.getLogger(__name__)

BENCH_SCENES = 3
SCENE_EVENTS = ("a red fox runs through a snowy pine forest", "a paper boat drifts down a rainy street",
                "a lighthouse beam sweeps over a stormy sea")


def run_cluster_bench(preset: Preset, *, workers: int = 2, num_chunks: int = 2, steps: int | None = None,
                      spec: str = "local") -> dict[str, Any]:
    """Scenes per minute with 1 and `workers` workers on the same project, and their ratio."""
    if preset.models.backend == "animatic":
        raise StudioError("the animatic preset runs no models; bench the cluster with --preset tiny or bench-gpu")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 2:
        raise StudioError(f"--cluster-workers {workers!r} must be 2 or more (it is compared with 1 worker)")
    if not 1 <= num_chunks <= preset.streaming.max_chunks:
        raise StudioError(f"chunks per scene {num_chunks} must be between 1 and {preset.streaming.max_chunks}")
    preset = copy.deepcopy(preset)
    if steps is not None:
        preset.streaming.steps = steps
    import ray

    started_ray = not ray.is_initialized()
    if started_ray and spec == "local":  # room for N one-CPU workers even on a smaller machine
        ray.init(num_cpus=max(workers, os.cpu_count() or 1), include_dashboard=False, log_to_driver=False,
                 logging_level=logging.WARNING)
    threads = max(1, (os.cpu_count() or 1) // workers)
    runs = {}
    try:
        with tempfile.TemporaryDirectory(prefix="studio-cluster-bench-") as tmp:
            for count in (1, workers):
                runs[count] = _timed_run(Path(tmp) / f"{count}-workers", preset, spec, count, num_chunks, threads)
            identical = _same_chunks(Path(tmp) / "1-workers" / "project", Path(tmp) / f"{workers}-workers" / "project")
    finally:
        if started_ray:
            ray.shutdown()
    one, many = (BENCH_SCENES / runs[count] * 60 for count in (1, workers))
    return {
        "preset": preset.name, "cluster": spec, "scenes": BENCH_SCENES, "chunks_per_scene": num_chunks,
        "steps": preset.streaming.steps, "threads_per_worker": threads, "cpu_count": os.cpu_count(),
        "seconds_1_worker": round(runs[1], 3), f"seconds_{workers}_workers": round(runs[workers], 3),
        "scenes_per_minute_1_worker": round(one, 3), f"scenes_per_minute_{workers}_workers": round(many, 3),
        "cluster_speedup": round(many / one, 3), "cluster_workers": workers, "same_chunks": identical,
    }


def _timed_run(root: Path, preset: Preset, spec: str, count: int, num_chunks: int, threads: int) -> float:
    """Seconds to make the bench project on `count` fresh workers, after each has made one warm-up scene."""
    from studio.cluster.connect import connect, shutdown
    from studio.cluster.scheduler import generate_project_on_cluster

    cluster = connect(spec, count)
    try:
        # One scene per worker: every free worker takes one at once, so each builds its models here.
        warm = _bench_project(root / "warm", preset, count, 1)
        list(generate_project_on_cluster(cluster, warm, preset, threads=threads))
        project = _bench_project(root / "project", preset, BENCH_SCENES, num_chunks)
        started = time.perf_counter()
        made = list(generate_project_on_cluster(cluster, project, preset, threads=threads))
        seconds = time.perf_counter() - started
    finally:
        shutdown(cluster)
    if len(made) != BENCH_SCENES * num_chunks:
        raise StudioError(f"the cluster made {len(made)} chunks of {BENCH_SCENES * num_chunks}; see the log")
    logger.info("cluster bench: %d workers, %d scenes in %.2f s", count, BENCH_SCENES, seconds)
    return seconds


def _bench_project(path: Path, preset: Preset, num_scenes: int, num_chunks: int) -> Path:
    from studio.project.model import Scene, Script, new_project, save_project

    scenes = [Scene(id=f"scene-{i + 1}", title=f"bench {i + 1}", event=SCENE_EVENTS[i % len(SCENE_EVENTS)],
                    background="", n_chunks=num_chunks, seed=11 + i) for i in range(num_scenes)]
    save_project(new_project(path.name, preset.name, Script(prompt="cluster bench", scenes=scenes)), path)
    return path


def _same_chunks(first: Path, second: Path) -> bool:
    import numpy as np

    from studio.media.video import load_frames

    names = sorted(p.relative_to(first) for p in first.glob("scenes/*/chunks/*/take_*.npz"))  # every version, by id
    return bool(names) and all(np.array_equal(load_frames(first / n), load_frames(second / n)) for n in names)


def format_cluster_bench(report: dict[str, Any]) -> str:
    n = report["cluster_workers"]
    return (f"cluster {report['cluster']} ({report['preset']}, {report['scenes']} scenes x {report['chunks_per_scene']} "
            f"chunks, {report['steps']} steps, {report['threads_per_worker']} CPU threads per worker):\n"
            f"  1 worker:  {report['scenes_per_minute_1_worker']:.2f} scenes/min ({report['seconds_1_worker']:.2f} s)\n"
            f"  {n} workers: {report[f'scenes_per_minute_{n}_workers']:.2f} scenes/min "
            f"({report[f'seconds_{n}_workers']:.2f} s); speed-up x{report['cluster_speedup']:.2f}; "
            f"same chunks: {report['same_chunks']}")
