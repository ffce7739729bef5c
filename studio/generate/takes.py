"""Chunk takes: list a chunk's versions, make another one active in an instant, remove one.

A regeneration keeps the version it replaces as a take (stage.py, take_files.py). Switching needs no
model: the take's files become the canonical chunk files, the draft is rewritten, and the later chunks
are ready again exactly where their active version was made from the now-active takes (after_take,
followed down the chain). Nothing here runs while the scene is generating in another process.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from studio.config import Preset
from studio.errors import StudioError
from studio.generate.chunk_files import write_draft
from studio.generate.take_files import (chain_statuses, copy_atomic, free_take_files, has_files, store_active_version,
                                        take_as_chunk)
from studio.media.video import chunk_shape, load_frames
from studio.project.model import Chunk, Project, Scene, Take, load_project, save_project
from studio.project.paths import ProjectPaths
from studio.project.scene_lock import scene_generating
from studio.project.lock import locked_project

logger = logging.getLogger(__name__)


@dataclass
class TakeView:
    """One version of a chunk, as the CLI and the studio show it."""

    take: int
    seed: int
    prompt: str
    made: str
    active: bool
    approval: str
    preview: Path | None  # absolute path of its preview (None: the active version is still being made)


@dataclass
class TakeSwitch:
    """What a switch did: the chunk's active take now, and which chunks from it on are ready or stale."""

    scene_id: str
    chunk_index: int
    take: int
    ready: list[int] = field(default_factory=list)  # later chunks made from the active takes
    stale: list[int] = field(default_factory=list)  # the others (chunk_index itself when made from another take of k-1)


def list_takes(project_dir: Path, scene_id: str, chunk_index: int) -> list[TakeView]:
    """Every version of chunk `chunk_index` of scene `scene_id`, in the order they were made."""
    paths = ProjectPaths(project_dir)
    chunk = _chunk(load_project(project_dir).script.scene(scene_id), chunk_index)
    active = TakeView(chunk.take, chunk.seed, chunk.prompt, chunk.made, True, chunk.approval,
                      paths.absolute(chunk.preview) if chunk.preview else None)
    views = [TakeView(t.number, t.seed, t.prompt, t.made, False, t.approval, paths.absolute(t.preview)) for t in chunk.takes]
    return sorted([active, *views], key=lambda view: view.take)


@locked_project  # its load, change and save are one step
def use_take(project_dir: Path, preset: Preset, scene_id: str, chunk_index: int, take: int) -> TakeSwitch:
    """Make take `take` the active version of the chunk (no model call); the version it replaces stays a take."""
    project_dir, project, scene, chunk, paths = _load_chunk(project_dir, scene_id, chunk_index)
    with scene_generating(project_dir, scene.id, doing="switch takes"):
        if _number(take) == chunk.take:  # again: finishes a switch that was interrupted, or just re-reads the chain
            if not chunk.frames:
                raise StudioError(f"take {take} of chunk {chunk.index} was never finished (its regeneration was "
                                  f"interrupted); regenerate the chunk or use another take")
            chosen = Take(chunk.take, chunk.seed, chunk.prompt, chunk.made, chunk.frames, chunk.preview, chunk.seconds,
                          chunk.after_take, chunk.approval)
        else:
            chosen = _stored_take(scene, chunk, take)
        _check_take_files(paths, preset, scene, chunk.index, chosen)
        # 1. The active version is kept as a take, complete on disk, before any record changes.
        takes = [t for t in chunk.takes if t.number != chosen.number]
        if chosen.number != chunk.take and has_files(paths, chunk):
            takes = sorted([*takes, store_active_version(paths, scene.id, chunk)], key=lambda t: t.number)
        # 2. The chosen take is recorded as active, with its files where they are (stale while the switch runs).
        record = take_as_chunk(chunk, chosen)
        record.takes, record.status = takes, "stale"
        scene.chunks[chunk.index] = record
        for later in scene.chunks[chunk.index + 1:]:
            later.status = "hidden" if later.status == "hidden" else "stale"
        save_project(project, project_dir)
        # 3. Its files become the canonical chunk files (atomically), then the chain decides what is ready.
        canonical = (paths.chunk_frames(scene.id, chunk.index), paths.chunk_preview(scene.id, chunk.index))
        copy_atomic(paths.absolute(chosen.frames), canonical[0])
        copy_atomic(paths.absolute(chosen.preview), canonical[1])
        record.frames, record.preview = paths.relative(canonical[0]), paths.relative(canonical[1])
        statuses = chain_statuses(scene.chunks, chunk.index)
        for index, status in statuses.items():
            scene.chunks[index].status = status
        draft = paths.draft(scene.id)
        write_draft(paths, scene, draft, preset.streaming.fps)
        scene.draft = paths.relative(draft)
        scene.refined_outdated = scene.refined is not None
        save_project(project, project_dir)
        # 4. The chosen take's stored copy is the canonical file now.
        for relative, target in zip((chosen.frames, chosen.preview), canonical):
            if paths.absolute(relative) != target.resolve():
                paths.absolute(relative).unlink(missing_ok=True)
    later = {i: s for i, s in statuses.items() if i > chunk.index}
    stale = ([chunk.index] if statuses.get(chunk.index) == "stale" else []) + [i for i, s in later.items() if s == "stale"]
    logger.info("scene %s chunk %d: take %d is active", scene.id, chunk.index, chosen.number)
    return TakeSwitch(scene.id, chunk.index, chosen.number, ready=[i for i, s in later.items() if s == "ready"], stale=stale)


@locked_project  # its load, change and save are one step
def remove_take(project_dir: Path, scene_id: str, chunk_index: int, take: int) -> None:
    """Forget a stored take of the chunk and free its files (never the active one)."""
    project_dir, project, scene, chunk, paths = _load_chunk(project_dir, scene_id, chunk_index)
    with scene_generating(project_dir, scene.id, doing="remove the take"):
        if _number(take) == chunk.take:
            raise StudioError(f"take {take} is the active take of chunk {chunk.index}; use another take first "
                              "(takes --use), then remove this one")
        gone = _stored_take(scene, chunk, take)
        chunk.takes = [t for t in chunk.takes if t.number != gone.number]
        save_project(project, project_dir)  # the record goes first: a take on record always has its files
        free_take_files(paths, [gone])
    logger.info("scene %s chunk %d: take %d removed", scene.id, chunk.index, gone.number)


# ----------------------------------------------------------------------------- helpers


def _load_chunk(project_dir: Path, scene_id: str, chunk_index: int) -> tuple[Path, Project, Scene, Chunk, ProjectPaths]:
    """The project, the scene and the chunk record a take command works on (a bad id or index: one line)."""
    project_dir = Path(project_dir)
    project = load_project(project_dir)
    scene = project.script.scene(scene_id)
    return project_dir, project, scene, _chunk(scene, chunk_index), ProjectPaths(project_dir)


def _chunk(scene: Scene, chunk_index) -> Chunk:
    if isinstance(chunk_index, bool) or not isinstance(chunk_index, int) or not 0 <= chunk_index < len(scene.chunks):
        have = f"chunks 0-{len(scene.chunks) - 1}" if scene.chunks else "no chunks yet"
        raise StudioError(f"scene {scene.id!r} has no chunk {chunk_index!r} ({have}); pick one of those")
    return scene.chunks[chunk_index]


def _number(take) -> int:
    if isinstance(take, bool) or not isinstance(take, int):
        raise StudioError(f"take {take!r} must be a whole number (see `python -m studio takes DIR --scene ID --chunk K`)")
    return take


def _stored_take(scene: Scene, chunk: Chunk, take: int) -> Take:
    for stored in chunk.takes:
        if stored.number == _number(take):
            return stored
    have = ", ".join(str(n) for n in sorted([chunk.take] + [t.number for t in chunk.takes]))
    raise StudioError(f"chunk {chunk.index} of scene {scene.id!r} has no take {take} (takes: {have}); pick one of those")


def _check_take_files(paths: ProjectPaths, preset: Preset, scene: Scene, index: int, take: Take) -> None:
    """The take's frames load at the chunk's shape and its preview exists, or one line naming them."""
    try:
        load_frames(paths.absolute(take.frames), chunk_shape(preset.streaming, index))
    except StudioError as error:
        raise StudioError(f"take {take.number} of chunk {index} of scene {scene.id!r} cannot be used: {error}; "
                          f"remove it (takes --remove {take.number}) or use another take") from None
    if not paths.absolute(take.preview).is_file():
        raise StudioError(f"take {take.number} of chunk {index} of scene {scene.id!r} has lost its preview "
                          f"{take.preview}; remove it (takes --remove {take.number}) or use another take")
