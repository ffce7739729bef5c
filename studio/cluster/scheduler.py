"""generate_project on a cluster: scenes in parallel on the workers, chunks of a scene in order.

The head (this process) is the one writer of project.json: each WorkerChunk carries its scene's record,
which the head merges into its copy and saves before the event is yielded. So parallel scenes never
lose each other's records, and a lost head leaves a project that `generate` resumes like any other.

A worker that dies (killed, its machine lost) loses at most the chunk it was making: its scene goes
back to the front of the queue and the next free worker resumes it at its first chunk not ready.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
from collections import deque
from pathlib import Path
from typing import Iterator

from studio.cluster.connect import Cluster
from studio.config import Preset
from studio.errors import StudioError
from studio.generate.stage import ChunkEvent
from studio.project.model import load_project, save_project, scene_from_dict, scene_ids_to_make
from studio.project.lock import project_lock
from studio.project.paths import ProjectPaths, atomic_write_bytes
from studio.project.progress import GENERATION_FIELDS, merge_scene_fields

logger = logging.getLogger(__name__)

_POLL_SECONDS = 0.2  # how often the head looks at `stop` while it waits for workers


def generate_project_on_cluster(cluster: Cluster, project_dir: Path, preset: Preset, *, scene_id: str | None = None,
                                num_chunks: int | None = None, stop=None, threads: int | None = None) -> Iterator[ChunkEvent]:
    """Stage 3 on the cluster's workers: the same ChunkEvents, in the order the chunks finish.

    `threads`: torch CPU threads per worker (default: the head's, for bit-identical chunks on CPU).
    """
    project_dir = Path(project_dir).resolve()
    project = load_project(project_dir)  # a missing or corrupt project is reported before anything runs
    scenes = scene_ids_to_make(project, scene_id)
    if not cluster.actors:
        raise StudioError("the cluster has no workers left; start it again (run generate again to resume)")
    run = _Run(cluster, project_dir, preset, num_chunks, threads=threads)
    yield from run.events(scenes, stop)


class _Run:
    def __init__(self, cluster: Cluster, project_dir: Path, preset: Preset, num_chunks: int | None,
                 threads: int | None = None):
        self.cluster, self.project_dir, self.preset, self.num_chunks = cluster, project_dir, preset, num_chunks
        self.shared: dict = {}  # actor -> whether it sees the project folder
        self.inbox: queue.Queue = queue.Queue()  # (kind, actor, scene_id, payload) from the worker threads
        self.running: dict = {}  # actor -> (scene_id, streaming generator)
        self.idle: list = []  # the workers this run holds and is not using now
        self.scene_workers: dict[str, list[str]] = {}  # scene id -> the workers that made its chunks
        self.threads = threads or head_threads()
        self.over = False  # set when the run ends: the worker threads stop following their streams

    def events(self, scenes: list[str], stop) -> Iterator[ChunkEvent]:
        pending = deque(scenes)
        try:
            while pending or self.running:
                # 1. Workers for this run (waiting while other jobs hold all of them); each takes the next scene.
                if pending and not self.idle and not self.running:
                    self.idle = self.cluster.take(len(pending), stop)
                    shared = bool(self.idle) and shares_folder(self.idle, self.project_dir)
                    self.shared.update((actor, shared) for actor in self.idle)
                while pending and self.idle:
                    self._start(self.idle.pop(0), pending.popleft())
                # 2. The next message from a worker (or a stop).
                if stop is not None and stop.is_set():
                    return
                try:
                    kind, actor, scene, payload = self.inbox.get(timeout=_POLL_SECONDS)
                except queue.Empty:
                    continue
                # 3. A chunk: merge its scene record, save, yield. A scene done: the worker is free.
                if kind == "chunk":
                    yield self._record(actor, payload)
                elif kind == "done":
                    self._finished(actor, scene)
                    # Kept for the next scene, unless none is left or another job waits and this run has others.
                    if pending and not (self.cluster.waiting and self.running):
                        self.idle.append(actor)
                    else:
                        self.cluster.give_back([actor])
                elif kind == "lost":  # the worker is gone: its scene resumes on the next free one
                    self._finished(actor, scene)
                    self.cluster.drop(actor)
                    logger.warning("worker lost during scene %s (%s); retrying it on another worker", scene, payload)
                    pending.appendleft(scene)
                    if not self.cluster.actors:
                        raise StudioError(f"every cluster worker was lost (last: {payload}); finished chunks are kept, "
                                          "start the cluster again and run generate to resume")
                else:
                    raise payload
        finally:
            self._cancel_running()

    def _start(self, actor, scene_id: str) -> None:
        files = None if self.shared[actor] else scene_files(self.project_dir, scene_id)
        stream = actor.generate.remote(str(self.project_dir), self.preset, scene_id, self.num_chunks, files,
                                       self.threads)
        self.running[actor] = (scene_id, stream)
        self.cluster.busy[scene_id] = actor
        threading.Thread(target=self._follow, args=(actor, scene_id, stream), daemon=True,
                         name=f"cluster-{scene_id}").start()

    def _finished(self, actor, scene_id: str) -> None:
        self.running.pop(actor, None)
        if self.cluster.busy.get(scene_id) is actor:  # another job's scene of the same id is not ours to clear
            self.cluster.busy.pop(scene_id, None)

    def _follow(self, actor, scene_id: str, stream) -> None:
        """One worker thread per running scene: forward each chunk to the head's inbox, in order."""
        import ray
        from ray.exceptions import RayActorError, RayTaskError, TaskCancelledError

        try:
            for ref in stream:
                if self.over or not ray.is_initialized():  # a cancelled scene's last chunk: nobody reads it
                    return
                self.inbox.put(("chunk", actor, scene_id, ray.get(ref)))
            self.inbox.put(("done", actor, scene_id, None))
        except TaskCancelledError:
            return
        except RayActorError as error:
            self.inbox.put(("lost", actor, scene_id, type(error).__name__))
        except RayTaskError as error:
            self.inbox.put(("error", actor, scene_id, worker_error(error, f"scene {scene_id}")))

    def _record(self, actor, sent) -> ChunkEvent:
        """Head side of one chunk: its files (unshared), the scene record into project.json, the event."""
        scene = merge_scene(self.project_dir, sent.scene, sent.files)
        self.scene_workers.setdefault(scene.id, []).append(sent.worker)
        event = sent.event
        if not self.shared[actor]:  # the worker's paths are in its scratch folder
            paths = ProjectPaths(self.project_dir)
            event.frames_path = paths.chunk_frames(scene.id, scene.chunks[event.index])
            event.preview_path = paths.chunk_preview(scene.id, scene.chunks[event.index])
        return event

    def _cancel_running(self) -> None:
        import ray

        self.over = True
        held = [*self.idle, *self.running]
        for actor, (scene, stream) in list(self.running.items()):
            try:
                ray.cancel(stream)
            except Exception as error:  # noqa: BLE001 - best effort: the run is over either way
                logger.debug("could not cancel a worker's scene: %s", error)
            self._finished(actor, scene)
        # A cancelled scene stops at its next step; the worker's next task waits behind it, so it is free now.
        self.cluster.give_back(held)
        self.running.clear()
        self.idle.clear()


# ----------------------------------------------------------------------------- shared by every cluster job

_HEAD_WRITES = threading.Lock()  # the head writes project.json for every job of this process, one at a time


def head_threads() -> int:
    import torch  # the head's CPU threads, for workers to match (bit-identical results on CPU)

    return torch.get_num_threads()


def merge_scene(project_dir: Path, scene_record: dict, files: dict[str, bytes]):
    """A worker's result on the head: its files (unshared folder) written atomically, then its scene's record
    merged into project.json as it is now on disk (other jobs may have saved other scenes meanwhile)."""
    paths = ProjectPaths(project_dir)
    scene = scene_from_dict(scene_record)
    folder = paths.scene_dir(scene.id).resolve()
    with _HEAD_WRITES, project_lock(project_dir):  # and with the studio's other writers of this project (and its
        for relative, data in files.items():       # open, which sweeps take files no record names yet)
            target = paths.absolute(relative)
            if folder not in target.parents:
                raise StudioError(f"a worker sent {relative!r}, outside scene {scene.id!r}'s folder; refused")
            atomic_write_bytes(target, data)
        project = load_project(project_dir)
        merge_scene_fields(project, scene, GENERATION_FIELDS + ("n_chunks",))  # a script edit made meanwhile survives
        save_project(project, project_dir)
    return scene


def worker_error(error, what: str) -> StudioError:
    """The StudioError a worker raised (a person can act on it), else one line naming the job."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, StudioError):
        return cause
    return StudioError(f"{what} failed on a worker: {str(error).strip().splitlines()[-1]}")


def shares_folder(actors: list, project_dir: Path) -> bool:
    """True when every one of `actors` (workers this run holds) reads a marker the head writes into the folder."""
    import ray

    token = secrets.token_hex(8)
    marker = project_dir / f".cluster-{token}"
    marker.write_text(token, encoding="utf-8")
    try:
        return all(ray.get([actor.sees.remote(str(marker), token) for actor in actors]))
    finally:
        marker.unlink(missing_ok=True)


def scene_files(project_dir: Path, scene_id: str) -> dict[str, bytes]:
    """project.json and the scene's folder (every take, its scene image): all a worker without the folder needs."""
    paths = ProjectPaths(project_dir)
    load_project(project_dir).script.scene(scene_id)  # an unknown scene is named before anything is read
    wanted = [project_dir / "project.json", *sorted(p for p in paths.scene_dir(scene_id).rglob("*") if p.is_file())]
    return {path.relative_to(project_dir).as_posix(): path.read_bytes()
            for path in dict.fromkeys(wanted) if path.is_file() and not path.name.startswith(".")}
