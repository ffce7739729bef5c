"""Chunk versions on disk: each written once at the paths of (scene, chunk, take), and the records that name them.

Every backend stores its chunks through `write_take`: the frames (npz) and a preview (mp4), each atomic,
at ProjectPaths.take_file for a take number no record names yet. Nothing moves or copies them later: a
chunk record names its active take by number (switching is one write of project.json), and a version's
files are removed only once no record names it (`free_takes`, computed paths only).
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import numpy as np

from studio.project.model import Chunk, Take
from studio.project.paths import ProjectPaths

logger = logging.getLogger(__name__)


def utc_now() -> str:
    """The time a take is made, as ISO-8601 UTC (seconds are enough to tell takes apart for a person)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def made_from(chunk: Chunk | Take) -> int:
    """The take of chunk k-1 this version was made from (a record from before takes was made from take 1)."""
    return 1 if chunk.after_take is None else chunk.after_take


def next_take_number(chunk: Chunk | None) -> int:
    """The number of a new version of `chunk`: past every number on record (None: a new chunk's first take)."""
    return 1 if chunk is None else max([chunk.take] + [take.number for take in chunk.takes]) + 1


def write_take(paths: ProjectPaths, scene_id: str, index: int, take: int, frames: np.ndarray, fps: int) -> tuple[Path, Path]:
    """Write a new version's frames and preview at their computed paths; before any record names them."""
    from studio.media.video import save_frames, write_mp4  # lazy: ffmpeg only where chunks are written

    frames_path = save_frames(frames, paths.take_frames(scene_id, index, take))
    preview_path = write_mp4(frames, paths.take_preview(scene_id, index, take), fps=fps)
    return frames_path, preview_path


def take_has_files(paths: ProjectPaths, scene_id: str, index: int, take: int) -> bool:
    return paths.take_frames(scene_id, index, take).is_file() and paths.take_preview(scene_id, index, take).is_file()


def free_takes(paths: ProjectPaths, scene_id: str, index: int, numbers: Iterable[int]) -> None:
    """Remove the files of takes no record names any more (only the files computed from their ids)."""
    for number in numbers:
        for kind in ("npz", "mp4"):
            paths.take_file(scene_id, index, number, kind).unlink(missing_ok=True)
        logger.info("scene %s chunk %d: take %d freed", scene_id, index, number)


def as_take(chunk: Chunk) -> Take:
    """The chunk's active version as a stored take (its files stay where they are)."""
    return Take(number=chunk.take, seed=chunk.seed, prompt=chunk.prompt, made=chunk.made, seconds=chunk.seconds,
                after_take=chunk.after_take, approval=chunk.approval)


def take_as_chunk(chunk: Chunk, take: Take) -> Chunk:
    """Chunk `chunk`'s record with stored take `take` as its active version."""
    return dataclasses.replace(chunk, seed=take.seed, prompt=take.prompt, made=take.made, seconds=take.seconds,
                               after_take=take.after_take, approval=take.approval, take=take.number)


def keep_within(takes: list[Take], max_takes: int) -> tuple[list[Take], list[Take]]:
    """(kept, dropped): `takes` by number, less the oldest beyond max_takes - 1 (the active version is the other)."""
    takes = sorted(takes, key=lambda take: take.number)
    drop = max(len(takes) - max(max_takes - 1, 0), 0)
    return takes[drop:], takes[:drop]


def chain_statuses(paths: ProjectPaths, scene_id: str, chunks: list[Chunk], start: int) -> dict[int, str]:
    """Ready or stale for chunks start.., following after_take: a chunk is ready when the chunk before it is
    ready and it was made from that chunk's active take (hidden chunks are left out and end the chain)."""
    statuses: dict[int, str] = {}
    previous_ready = start == 0 or chunks[start - 1].status == "ready"
    for chunk in chunks[start:]:
        if chunk.status == "hidden":
            break
        ready = (previous_ready and take_has_files(paths, scene_id, chunk.index, chunk.take)
                 and (chunk.index == 0 or made_from(chunk) == chunks[chunk.index - 1].take))
        statuses[chunk.index] = "ready" if ready else "stale"
        previous_ready = ready
    return statuses
