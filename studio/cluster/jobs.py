"""Single jobs on a cluster: regenerate one chunk, refine one scene, each on the next free worker.

The same file rules as generate (scheduler.py): a worker that sees the project folder writes the files
itself; one that does not gets the scene's files and sends its new files back for the head to write
atomically. Either way the head merges the scene's record into project.json (the one writer). A worker
lost during a job costs nothing but the job's time: it runs again on another worker.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Iterator

from studio.cluster import scheduler
from studio.cluster.connect import Cluster
from studio.config import Preset
from studio.errors import StoppedError, StudioError
from studio.project.paths import ProjectPaths

logger = logging.getLogger(__name__)

_POLL_SECONDS = 0.2  # how often the head looks at `stop` while a worker runs the job


def regenerate_chunk_on_cluster(cluster: Cluster, project_dir: Path, preset: Preset, scene_id: str, chunk_index: int, *,
                                seed: int | None = None, prompt: str | None = None, stop=None):
    """studio.generate.stage.regenerate_chunk on a free worker; returns its ChunkEvent (head paths)."""
    project_dir = Path(project_dir).resolve()
    threads = scheduler.head_threads()

    def call(actor, files):
        return actor.regenerate.remote(str(project_dir), preset, scene_id, chunk_index, seed, prompt, files, threads)

    sent, shared = run_on_free_worker(cluster, project_dir, scene_id, call, stop, f"regenerating chunk {chunk_index}")
    scene = scheduler.merge_scene(project_dir, sent.scene, sent.files)
    event = sent.event
    if not shared:  # the worker's paths were in its scratch folder
        paths = ProjectPaths(project_dir)
        event.frames_path = paths.chunk_frames(scene.id, scene.chunks[event.index])
        event.preview_path = paths.chunk_preview(scene.id, scene.chunks[event.index])
    return event


def refine_scene_on_cluster(cluster: Cluster, project_dir: Path, preset: Preset, scene_id: str, *, mode: str | None = None,
                            seed: int | None = None, strength: float | None = None, stop=None, progress=None):
    """studio.refine.stage.refine_scene on a free worker; returns its RefineResult (head paths).

    `progress` hears only the start and the end: the refiner's steps run in the worker's process.
    """
    project_dir = Path(project_dir).resolve()
    threads = scheduler.head_threads()
    if progress is not None:
        progress(0.0, f"refining {scene_id} on a cluster worker")

    def call(actor, files):
        return actor.refine.remote(str(project_dir), preset, scene_id, mode, seed, strength, files, threads)

    sent, shared = run_on_free_worker(cluster, project_dir, scene_id, call, stop, f"refining {scene_id}")
    scene = scheduler.merge_scene(project_dir, sent.scene, sent.files)
    result = sent.result
    if not shared:
        paths = ProjectPaths(project_dir)
        result.path = paths.refined(scene.id)
        if result.xt_slice_path is not None:
            result.xt_slice_path = paths.scene_dir(scene_id) / Path(result.xt_slice_path).name
    if progress is not None:
        progress(1.0, f"refined {scene_id}")
    return result


def refine_project_on_cluster(cluster: Cluster, project_dir: Path, preset: Preset, *, scene_id: str | None = None,
                              mode: str | None = None, seed: int | None = None, strength: float | None = None,
                              stop=None, approved_only: bool = False, warn=None) -> Iterator:
    """studio.refine.stage.refine_project with the scenes side by side on the free workers, yielding each
    RefineResult as its scene finishes."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from studio.project.model import load_project
    from studio.refine.stage import scenes_to_refine

    project = load_project(project_dir)
    ids = scenes_to_refine(project, scene_id, approved_only=approved_only, warn=warn)  # as refine_project
    with ThreadPoolExecutor(max_workers=max(cluster.size, 1), thread_name_prefix="cluster-refine") as pool:
        futures = [pool.submit(refine_scene_on_cluster, cluster, project_dir, preset, current, mode=mode, seed=seed,
                               strength=strength, stop=stop) for current in ids]
        for future in as_completed(futures):
            yield future.result()


def run_on_free_worker(cluster: Cluster, project_dir: Path, scene_id: str, call: Callable, stop, what: str):
    """(what the worker returned, whether it saw the folder): `call(actor, files)` on the next free worker,
    again on another one if that worker is lost. A stop cancels the job: nothing is recorded."""
    while True:
        taken = cluster.take(1, stop)
        if not taken:
            raise StoppedError(f"stopped before {what} started; nothing changed")
        actor = taken[0]
        try:
            shared = scheduler.shares_folder(taken, project_dir)
            files = None if shared else scheduler.scene_files(project_dir, scene_id)
            return _wait(call(actor, files), stop, what), shared
        except _Lost as lost:
            cluster.drop(actor)
            logger.warning("worker lost while %s (%s); running it on another worker", what, lost)
            if not cluster.actors:
                raise StudioError(f"every cluster worker was lost while {what}; start the cluster again") from None
        finally:
            cluster.give_back([actor])  # a dropped worker is not taken back


class _Lost(Exception):
    pass


def _wait(ref, stop, what: str):
    import ray
    from ray.exceptions import RayActorError, RayTaskError, TaskCancelledError

    try:
        while not ray.wait([ref], timeout=_POLL_SECONDS)[0]:
            if stop is not None and stop.is_set():
                ray.cancel(ref)  # the worker stops at its next step (its stop flag is the task's cancel)
                raise StoppedError(f"stopped while {what}; nothing changed")
        return ray.get(ref)
    except TaskCancelledError:
        raise StoppedError(f"stopped while {what}; nothing changed") from None
    except RayActorError as error:
        raise _Lost(type(error).__name__) from None
    except RayTaskError as error:
        raise scheduler.worker_error(error, what) from None
