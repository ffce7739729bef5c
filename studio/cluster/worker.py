"""SceneWorker: one Ray actor per GPU (or CPU slot), each with its own model cache (its own process).

`generate(...)` is a Ray streaming generator: it yields one WorkerChunk per finished chunk, so the head
sees chunks as they come. `regenerate(...)` (one chunk again) and `refine(...)` (one scene) are single
jobs that any free worker takes: they return one WorkerChunk / WorkerRefine. The worker never writes project.json: every progress save in the chunk loop
is captured as the scene's record and sent with the chunk, and the head merges it (one writer, so
parallel scenes never lose each other's records).

Files: with a shared filesystem the worker writes the chunk files into the project folder itself
(atomically, as in-process). Without one, the head sends the scene's files, the worker works in a
scratch copy of the project and sends each new file back as bytes for the head to write.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from studio.config import Preset
from studio.generate.stage import ChunkEvent


@dataclass
class WorkerChunk:
    """What a worker sends per chunk: the event, the scene's record after it, and (unshared) the files."""

    event: ChunkEvent
    scene: dict  # dataclasses.asdict(Scene) after this chunk
    files: dict[str, bytes] = field(default_factory=dict)  # project-relative path -> bytes (unshared filesystem)
    worker: str = ""  # host:pid, for logs and tests


@dataclass
class WorkerRefine:
    """What a worker sends back for one refined scene: the result, the scene's record, (unshared) the files."""

    result: Any  # studio.refine.stage.RefineResult; its paths are the worker's
    scene: dict
    files: dict[str, bytes] = field(default_factory=dict)
    worker: str = ""


class SceneWorker:
    """Generates whole scenes, one at a time, in this actor's process."""

    def __init__(self):
        import socket

        self.name = f"{socket.gethostname()}:{os.getpid()}"

    def identity(self) -> str:
        return self.name

    def sees(self, marker: str, token: str) -> bool:
        """True when this worker reads the head's marker file: the project folder is shared."""
        try:
            return Path(marker).read_text(encoding="utf-8") == token
        except OSError:
            return False

    def generate(self, project_dir: str, preset: Preset, scene_id: str, num_chunks: int | None,
                 files: dict[str, bytes] | None = None, threads: int | None = None) -> Iterator[WorkerChunk]:
        """Make the scene (resuming at its first chunk not ready), yielding one WorkerChunk per chunk.

        `files` None: `project_dir` is shared. Otherwise it holds project.json and the scene's files,
        and the chunk files go back as bytes. `threads`: the head's torch CPU threads (Ray gives workers
        one), since a CPU sum split over another number of threads rounds differently: same threads, same bits.
        """
        from studio.generate.stage import generate_scene

        with _project_folder(project_dir, files, threads) as (folder, scratch):
            records = _SceneRecords(scene_id)
            for event in generate_scene(folder, preset, scene_id, num_chunks=num_chunks, save=records.keep,
                                        stop=_Cancelled()):
                sent = {} if scratch is None else _new_files(scratch, scene_id, event)
                yield WorkerChunk(event, records.last, sent, self.name)

    def regenerate(self, project_dir: str, preset: Preset, scene_id: str, chunk_index: int, seed: int | None,
                   prompt: str | None, files: dict[str, bytes] | None = None,
                   threads: int | None = None) -> WorkerChunk:
        """Make one chunk again (studio.generate.stage.regenerate_chunk); the head saves the record."""
        from studio.generate.stage import regenerate_chunk

        with _project_folder(project_dir, files, threads) as (folder, scratch):
            records = _SceneRecords(scene_id)
            event = regenerate_chunk(folder, preset, scene_id, chunk_index, seed=seed, prompt=prompt,
                                     stop=_Cancelled(), save=records.keep)
            sent = {} if scratch is None else _new_files(scratch, scene_id, event)
            return WorkerChunk(event, records.last, sent, self.name)

    def refine(self, project_dir: str, preset: Preset, scene_id: str, mode: str | None, seed: int | None,
               strength: float | None, files: dict[str, bytes] | None = None,
               threads: int | None = None) -> WorkerRefine:
        """Refine one scene (studio.refine.stage.refine_scene); the head saves the record."""
        from studio.refine.stage import refine_scene

        with _project_folder(project_dir, files, threads) as (folder, scratch):
            records = _SceneRecords(scene_id)
            result = refine_scene(folder, preset, scene_id, mode=mode, seed=seed, strength=strength,
                                  stop=_Cancelled(), save=records.keep)
            written = [result.path, result.xt_slice_path]
            sent = {} if scratch is None else {path.relative_to(scratch).as_posix(): path.read_bytes()
                                               for path in written if path is not None and path.is_file()}
            return WorkerRefine(result, records.last, sent, self.name)


class _SceneRecords:
    """The stage's `save` on a worker: keeps the scene's record instead of writing project.json (the head saves)."""

    def __init__(self, scene_id: str):
        self.scene_id, self.records = scene_id, []

    def keep(self, project, _folder) -> None:
        self.records.append(dataclasses.asdict(project.script.scene(self.scene_id)))

    @property
    def last(self) -> dict:
        return self.records[-1]


@contextmanager
def _project_folder(project_dir: str, files: dict[str, bytes] | None, threads: int | None):
    """(folder, scratch): the shared project folder (scratch None), else a scratch copy of the files sent."""
    if threads:
        import torch

        torch.set_num_threads(threads)
    scratch = None if files is None else Path(tempfile.mkdtemp(prefix="studio-worker-"))
    try:
        if scratch is not None:
            _write_files(scratch, files)
        yield (Path(project_dir) if scratch is None else scratch), scratch
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


class _Cancelled:
    """The stop flag of a Ray task: set once the head cancels it (`ray.cancel`), checked between steps."""

    def is_set(self) -> bool:
        import ray

        return ray.get_runtime_context().is_canceled()


def _write_files(folder: Path, files: dict[str, bytes]) -> None:
    for relative, data in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _new_files(folder: Path, scene_id: str, event: ChunkEvent) -> dict[str, bytes]:
    """The files one chunk wrote: its new take (frames and preview), the scene's draft and its stamp, the healed
    take of the next chunk (keep-later) and (chunk 0) the anchor."""
    scene_dir = folder / "scenes" / scene_id
    paths = [event.frames_path, event.preview_path, scene_dir / "draft.mp4", scene_dir / "draft.takes.json",
             *event.written]
    if event.index == 0:
        paths.append(scene_dir / "anchor.png")
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in paths if path.is_file()}
