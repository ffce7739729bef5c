"""The files and records of chunk takes: keeping a version, dropping the oldest, and the after_take chain.

A chunk's active version lives at the canonical chunk_XXX.npz/.mp4 paths (so draft, refine, export and
the cluster never see takes); the other versions live at scenes/<scene>/takes/chunk_XXX/take_NN.*.
A version is copied there completely (each file atomically) before any record names it, so a record in
`Chunk.takes` always has its files.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timezone
from pathlib import Path

from studio.project.model import Chunk, Take
from studio.project.paths import ProjectPaths, atomic_write_bytes

logger = logging.getLogger(__name__)


def utc_now() -> str:
    """The time a take is made, as ISO-8601 UTC (seconds are enough to tell takes apart for a person)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def made_from(chunk: Chunk) -> int:
    """The take of chunk k-1 this chunk was made from (a record from before takes was made from take 1)."""
    return 1 if chunk.after_take is None else chunk.after_take


def next_take_number(chunk: Chunk) -> int:
    return max([chunk.take] + [take.number for take in chunk.takes]) + 1


def has_files(paths: ProjectPaths, chunk: Chunk) -> bool:
    """The record names both files and they exist (a chunk being replaced names none: see stage._mark_replacing)."""
    return bool(chunk.frames and chunk.preview and paths.absolute(chunk.frames).is_file()
                and paths.absolute(chunk.preview).is_file())


def copy_atomic(source: Path, target: Path) -> None:
    if Path(source).resolve() != Path(target).resolve():
        atomic_write_bytes(target, Path(source).read_bytes())


def store_active_version(paths: ProjectPaths, scene_id: str, chunk: Chunk) -> Take:
    """Copy the chunk's active files to its take files and return the Take that records them."""
    frames = paths.take_frames(scene_id, chunk.index, chunk.take)
    preview = paths.take_preview(scene_id, chunk.index, chunk.take)
    copy_atomic(paths.absolute(chunk.frames), frames)
    copy_atomic(paths.absolute(chunk.preview), preview)
    return Take(number=chunk.take, seed=chunk.seed, prompt=chunk.prompt, made=chunk.made,
                frames=paths.relative(frames), preview=paths.relative(preview), seconds=chunk.seconds,
                after_take=chunk.after_take, approval=chunk.approval)


def keep_active_version(paths: ProjectPaths, scene_id: str, chunk: Chunk, max_takes: int) -> tuple[list[Take], list[Take]]:
    """(takes, dropped): the chunk's stored takes plus its active version, less the oldest beyond `max_takes`
    (a new active version comes next, so max_takes - 1 are stored). Files are copied; none are removed."""
    takes = [*chunk.takes, store_active_version(paths, scene_id, chunk)]
    takes.sort(key=lambda take: take.number)
    keep = max(max_takes - 1, 0)
    dropped = takes[:len(takes) - keep] if len(takes) > keep else []
    return takes[len(dropped):], dropped


def free_take_files(paths: ProjectPaths, takes: list[Take]) -> None:
    """Remove dropped takes' files; call it only once the project no longer names them."""
    for take in takes:
        for relative in (take.frames, take.preview):
            if relative:
                paths.absolute(relative).unlink(missing_ok=True)
        logger.info("dropped take %d (%s)", take.number, take.frames)


def take_as_chunk(chunk: Chunk, take: Take) -> Chunk:
    """Chunk `chunk`'s record with `take` as its active version (files still where the take keeps them)."""
    return dataclasses.replace(chunk, seed=take.seed, prompt=take.prompt, made=take.made, frames=take.frames,
                               preview=take.preview, seconds=take.seconds, after_take=take.after_take,
                               approval=take.approval, take=take.number)


def chain_statuses(chunks: list[Chunk], start: int) -> dict[int, str]:
    """Ready or stale for chunks start.., following after_take: a chunk is ready when the chunk before it is
    ready and it was made from that chunk's active take (hidden chunks are left out and end the chain)."""
    statuses: dict[int, str] = {}
    previous_ready = start == 0 or chunks[start - 1].status == "ready"
    for chunk in chunks[start:]:
        if chunk.status == "hidden":
            break
        ready = previous_ready and bool(chunk.frames) and (chunk.index == 0 or made_from(chunk) == chunks[chunk.index - 1].take)
        statuses[chunk.index] = "ready" if ready else "stale"
        previous_ready = ready
    return statuses
