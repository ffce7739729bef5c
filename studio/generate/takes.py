"""Chunk takes: list a chunk's versions, make another one active in an instant, remove one.

A regeneration keeps the version it replaces as a take (stage.py). Every version's files stay where they
were written (chunk_store.py), so switching needs no model and no copy: one write of project.json makes
the take active and marks the later chunks ready exactly where their active version was made from the
now-active takes (after_take, followed down the chain); then the draft, a derived file, is rebuilt.
Nothing here runs while the scene is generating in another process.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from studio.config import Preset
from studio.errors import StudioError
from studio.generate.chunk_store import as_take, chain_statuses, free_takes, take_as_chunk, take_has_files
from studio.generate.family import check_family
from studio.media.video import chunk_shape, load_frames
from studio.project.draft import write_draft
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
    scene = load_project(project_dir).script.scene(scene_id)
    chunk = _chunk(scene, chunk_index)

    def preview(number: int) -> Path | None:
        path = paths.take_preview(scene.id, chunk.index, number)
        return path if path.is_file() else None

    active = TakeView(chunk.take, chunk.seed, chunk.prompt, chunk.made, True, chunk.approval, preview(chunk.take))
    views = [TakeView(t.number, t.seed, t.prompt, t.made, False, t.approval, preview(t.number)) for t in chunk.takes]
    return sorted([active, *views], key=lambda view: view.take)


@locked_project  # its load, change and save are one step
def use_take(project_dir: Path, preset: Preset, scene_id: str, chunk_index: int, take: int) -> TakeSwitch:
    """Make take `take` the active version of the chunk: one record write, no model, no file copied.

    The version it replaces stays a take; the draft is rebuilt from the active takes afterwards."""
    project_dir, project, scene, chunk, paths = _load_chunk(project_dir, scene_id, chunk_index)
    with scene_generating(project_dir, scene.id, doing="switch takes"):
        number = _number(take)
        chosen = None if number == chunk.take else _stored_take(scene, chunk, number)
        if chosen is None and not take_has_files(paths, scene.id, chunk.index, number):
            raise StudioError(f"take {take} of chunk {chunk.index} was never finished (its regeneration was "
                              f"interrupted); regenerate the chunk or use another take")
        check_family(scene, preset)
        _check_take_files(paths, preset, scene, chunk.index, number)
        freed = []
        if chosen is not None:
            record = take_as_chunk(chunk, chosen)
            record.takes = [t for t in chunk.takes if t.number != chosen.number]
            if take_has_files(paths, scene.id, chunk.index, chunk.take):  # the version it replaces stays a take
                record.takes = sorted([*record.takes, as_take(chunk)], key=lambda t: t.number)
            else:  # never finished: nothing to keep
                freed.append(chunk.take)
            scene.chunks[chunk.index] = record
            if paths.refined(scene.id).is_file():  # refined from other frames than the chunks show now
                scene.refined_outdated = True
        statuses = chain_statuses(paths, scene.id, scene.chunks, chunk.index)
        for index, status in statuses.items():
            scene.chunks[index].status = status
        write_draft(paths, scene)  # derived from the records about to be saved (a full disk stops here)
        save_project(project, project_dir)  # THE switch
        free_takes(paths, scene.id, chunk.index, freed)
    later = {i: s for i, s in statuses.items() if i > chunk.index}
    stale = ([chunk.index] if statuses.get(chunk.index) == "stale" else []) + [i for i, s in later.items() if s == "stale"]
    logger.info("scene %s chunk %d: take %d is active", scene.id, chunk.index, number)
    return TakeSwitch(scene.id, chunk.index, number, ready=[i for i, s in later.items() if s == "ready"], stale=stale)


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
        free_takes(paths, scene.id, chunk.index, [gone.number])
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


def _check_take_files(paths: ProjectPaths, preset: Preset, scene: Scene, index: int, number: int) -> None:
    """The take's frames load at the chunk's shape and its preview exists, or one line naming them."""
    try:
        load_frames(paths.take_frames(scene.id, index, number), chunk_shape(preset.streaming, index))
    except StudioError as error:
        raise StudioError(f"take {number} of chunk {index} of scene {scene.id!r} cannot be used: {error}; "
                          f"remove it (takes --remove {number}) or use another take") from None
    if not paths.take_preview(scene.id, index, number).is_file():
        raise StudioError(f"take {number} of chunk {index} of scene {scene.id!r} has lost its preview "
                          f"{paths.relative(paths.take_preview(scene.id, index, number))}; remove it "
                          f"(takes --remove {number}) or use another take")
