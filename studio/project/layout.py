"""Opening a project folder: move a version-1 project into the layout of ids, and sweep what a kill left.

Version 1 kept a chunk's active version at scenes/<scene>/chunk_003.npz/.mp4 and its other takes at
scenes/<scene>/takes/chunk_003/take_01.*, and its records held those paths. `migrate_layout` renames each
version to the place paths.py computes for it (scenes/<scene>/chunks/003/take_NN.*), then saves
project.json as version 2 (without paths), then removes the old files that are left (copies). Each step
is a rename or an atomic write, and each is skipped when already done: a kill at any point leaves a
version-1 project whose every version is at its old place or its new one, and the next open finishes it.

The old records' path fields are never followed: they only say which of the two computed places held
the active version (its canonical file, or its take file in the middle of a switch) and whether it had
files at all (a regeneration killed half way recorded none).

`open_project` also sweeps what a killed writer left behind (temporary files, take files no record
names, a draft older than the records) in every scene that is not generating right now.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from studio.errors import StudioError
from studio.project.json_input import parse_project_json
from studio.project.lock import LOCK_FILE, project_lock
from studio.project.model import SCHEMA_VERSION, Project, load_project, project_from_dict, save_project
from studio.project.paths import PROJECT_FILE, SCENE_LOCK_FILE, TAKE_FILE_KINDS, ProjectPaths

logger = logging.getLogger(__name__)

_TAKE_NAME = re.compile(r"take_(\d{2,7})\.(npz|mp4)")
_LEGACY_CHUNK_NAME = re.compile(r"chunk_\d{3}\.(npz|mp4)")
LEGACY_TAKES_DIR = "takes"


def needs_migration(data) -> bool:
    """project.json data written before chunk versions lived at paths computed from ids."""
    version = data.get("version", 1) if isinstance(data, dict) else 1
    return isinstance(version, int) and not isinstance(version, bool) and version < SCHEMA_VERSION


def legacy_chunk_file(paths: ProjectPaths, scene_id: str, index: int, kind: str) -> Path:
    return paths.scene_dir(scene_id) / f"chunk_{index:03d}.{kind}"


def legacy_take_file(paths: ProjectPaths, scene_id: str, index: int, take: int, kind: str) -> Path:
    return paths.scene_dir(scene_id) / LEGACY_TAKES_DIR / f"chunk_{index:03d}" / f"take_{take:02d}.{kind}"


def migrate_layout(project_dir: Path) -> bool:
    """Move a version-1 project into the layout of ids (crash-safe, idempotent). True when it migrated."""
    project_dir = Path(project_dir)
    with project_lock(project_dir):
        path = project_dir / PROJECT_FILE
        data = parse_project_json(path.read_text(encoding="utf-8"), str(path))
        if not needs_migration(data):
            return False
        project = project_from_dict(data)  # a project that does not validate is refused before anything moves
        paths = ProjectPaths(project_dir)
        raw_scenes = {raw.get("id"): raw for raw in data["script"].get("scenes") or [] if isinstance(raw, dict)}
        for scene in project.script.scenes:
            raw_chunks = raw_scenes.get(scene.id, {}).get("chunks") or []
            for chunk, raw in zip(scene.chunks, raw_chunks):
                _move_chunk(paths, scene.id, chunk, raw)
        save_project(project, project_dir)  # version 2, no paths: from here on the old files are copies
        removed = remove_legacy_files(paths, project)
    logger.info("moved project %s to the layout of ids (%d old copies removed)", project.id, removed)
    return True


def _move_chunk(paths: ProjectPaths, scene_id: str, chunk, raw: dict) -> None:
    index = chunk.index
    frames_hint = raw.get("frames") if isinstance(raw, dict) else None
    if isinstance(frames_hint, str) and isinstance(raw.get("preview"), str):  # the active version had files
        took = paths.relative(legacy_take_file(paths, scene_id, index, chunk.take, "npz"))
        for kind in TAKE_FILE_KINDS:  # its take file while a switch was under way, else the canonical one
            source = (legacy_take_file(paths, scene_id, index, chunk.take, kind) if frames_hint == took
                      else legacy_chunk_file(paths, scene_id, index, kind))
            _rename(source, paths.take_file(scene_id, index, chunk.take, kind))
    for take in chunk.takes:
        for kind in TAKE_FILE_KINDS:
            _rename(legacy_take_file(paths, scene_id, index, take.number, kind),
                    paths.take_file(scene_id, index, take.number, kind))


def _rename(source: Path, target: Path) -> None:
    """Move `source` to `target` (atomic); nothing when an earlier, interrupted run already moved it."""
    if source.is_file() and not source.is_symlink():
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)


def remove_legacy_files(paths: ProjectPaths, project: Project) -> int:
    """Remove version-1 chunk and take files (copies once project.json is version 2); returns how many."""
    removed = 0
    for scene in project.script.scenes:
        folder = paths.scene_dir(scene.id)
        if not folder.is_dir():
            continue
        for leftover in folder.iterdir():
            if _LEGACY_CHUNK_NAME.fullmatch(leftover.name) and leftover.is_file():
                leftover.unlink(missing_ok=True)
                removed += 1
        takes = folder / LEGACY_TAKES_DIR
        if takes.is_dir() and not takes.is_symlink():
            for chunk_dir in takes.iterdir():
                if chunk_dir.is_dir() and not chunk_dir.is_symlink():
                    for leftover in chunk_dir.iterdir():
                        if (_TAKE_NAME.fullmatch(leftover.name) or leftover.name.startswith(".")) and leftover.is_file():
                            leftover.unlink(missing_ok=True)
                            removed += 1
                    _remove_empty(chunk_dir)
            _remove_empty(takes)
    return removed


def _remove_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass  # something else lives there: left alone


# ----------------------------------------------------------------------------- open


def open_project(project_dir: Path) -> Project:
    """Load the project for use: migrated to the layout of ids, and swept of what a killed run left.

    Holds the project lock (no other writer of project.json or of takes runs meanwhile) and skips every
    scene that is generating now (its generator writes files before it records them)."""
    from studio.project.scene_lock import scene_generating

    project_dir = Path(project_dir)
    with project_lock(project_dir):
        project = load_project(project_dir)  # migrates a version-1 project
        paths = ProjectPaths(project_dir)
        # The root: only project.json's temp files (written under the lock we hold; an export may be writing
        # final.mp4 beside them right now, and sweeps its own).
        swept = _remove_temp_files(project_dir, (f"{PROJECT_FILE}.",)) + _remove_temp_files(project_dir / "entities")
        for scene in project.script.scenes:
            if not paths.scene_dir(scene.id).is_dir():
                continue
            try:
                with scene_generating(project_dir, scene.id, doing="open it"):
                    swept += sweep_scene(paths, scene)
            except StudioError:
                continue  # generating: its files are in use
        swept += remove_legacy_files(paths, project)
    if swept:
        logger.info("project %s: removed %d files an interrupted run left", project.id, swept)
    return project


def sweep_scene(paths: ProjectPaths, scene) -> int:
    """Temp files and unrecorded take files of one scene, and its draft rebuilt when stale. Call it only
    while no one writes the scene (the scene lock held, or the project being opened under the project lock)."""
    from studio.project.draft import draft_is_current, write_draft

    swept = _remove_temp_files(paths.scene_dir(scene.id), _SCENE_FILES_UNDER_LOCKS)
    chunks_dir = paths.scene_dir(scene.id) / "chunks"
    recorded = {(c.index, t) for c in scene.chunks for t in [c.take, *(take.number for take in c.takes)]}
    if chunks_dir.is_dir() and not chunks_dir.is_symlink():
        for folder in chunks_dir.iterdir():
            if not folder.is_dir() or folder.is_symlink() or not folder.name.isdigit():
                continue
            swept += _remove_temp_files(folder)
            for leftover in folder.iterdir():  # a version written by a run killed before it recorded it
                match = _TAKE_NAME.fullmatch(leftover.name)
                if (match and (int(folder.name), int(match.group(1))) not in recorded and leftover.is_file()
                        and leftover == paths.take_file(scene.id, int(folder.name), int(match.group(1)), match.group(2))):
                    leftover.unlink(missing_ok=True)
                    swept += 1
    if not draft_is_current(paths, scene) and (scene.chunks or paths.draft(scene.id).exists()):
        write_draft(paths, scene)
    return swept


# The scene folder's files written under the scene lock or the project lock (refined.mp4 is written
# under neither: a refine may be under way, and its temporary file is not ours to remove).
_SCENE_FILES_UNDER_LOCKS = ("draft.", "anchor.png", "image.png", "chunk_")  # chunk_: version-1 chunk files


def _remove_temp_files(folder: Path, targets: tuple[str, ...] | None = None) -> int:
    """The temporary files a killed writer left in `folder`: atomic_path names them `.<target>.<random><suffix>`
    (a dot first). With `targets`, only those whose target name starts with one of them; the locks are never
    leftovers."""
    removed = 0
    if folder.is_dir() and not folder.is_symlink():
        for path in folder.iterdir():
            name = path.name
            if targets is not None and not name.lstrip(".").startswith(targets):
                continue
            if (name.startswith(".") and name not in (SCENE_LOCK_FILE, LOCK_FILE) and path.is_file()
                    and not path.is_symlink()):
                path.unlink(missing_ok=True)
                removed += 1
    return removed
