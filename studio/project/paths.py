"""The project folder on disk: safe ids, paths confined to a root, atomic writes, and where each file lives.

Every write goes to a temporary file beside its target and is renamed into place, so a crash leaves
either the old file or the new one, never half of one. Ids become folder and file names, so they are
checked before any path is built from them. The folder of one project:

    <projects-root>/<project-id>/project.json          written atomically (temp file + rename), saved last
    <projects-root>/<project-id>/entities/<entity>.png
    <projects-root>/<project-id>/scenes/<scene>/image.png
    <projects-root>/<project-id>/scenes/<scene>/chunks/003/take_02.npz   frames of take 2 of chunk 3
    <projects-root>/<project-id>/scenes/<scene>/chunks/003/take_02.mp4   its low-res preview segment
    <projects-root>/<project-id>/scenes/<scene>/draft.mp4, draft.takes.json   the active takes joined, and which
    <projects-root>/<project-id>/scenes/<scene>/refined.mp4
    <projects-root>/<project-id>/final.mp4

Every path is computed from ids (scene id, chunk index, take number, entity id); no record holds one. A
take's files are written once, at take_file(), and never moved, copied or rewritten: a chunk record names
its active take by number, so switching versions is one write of project.json. (Before version 2 of
project.json the active version lived at scenes/<scene>/chunk_003.* and the others at
scenes/<scene>/takes/chunk_003/take_01.*: layout.py moves such a project into this layout on open.)
"""

from __future__ import annotations

import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from studio.errors import ValidationError
from studio.project.lock import LOCK_FILE  # a dot file too, but never a leftover: it is in use

PROJECT_FILE = "project.json"
SCENE_LOCK_FILE = ".generating.lock"  # held while a scene generates (scene_lock.py); not a temporary file
BACKUP_FILE = "project.json.bak"

_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")  # used with fullmatch: `$` would let "id\n" through


def validate_id(value: Any, what: str = "id") -> str:
    """Return `value` if it is a safe identifier (used in file names); raise otherwise.

    Ids become folder and file names, so no separators, no dots, no `..`, at most 64 characters.
    """
    if not isinstance(value, str) or not _ID_PATTERN.fullmatch(value):
        raise ValidationError(
            f"{what} {value!r} is not valid: use 1-64 letters, digits, '-' or '_' "
            "(no spaces, dots or slashes)"
        )
    return value


@contextmanager
def atomic_path(target: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary path beside `target`: write there; when the block succeeds it is renamed onto `target`,
    and when it fails it is removed. A crash therefore leaves the old file or the new one, never half of one.
    (Our temporary names start with a dot: `remove_temp_files` sweeps what a killed run left.)"""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)  # mkstemp makes files private (0600); project files are ordinary files
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically (and durably: fsync before the rename)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def remove_temp_files(folder: Path) -> list[str]:
    """Delete the temporary files a killed run left in `folder` (ours all start with a dot).

    Call it only where no other writer is active (the start of a run on that folder).
    """
    removed = []
    folder = Path(folder)
    if folder.is_dir():
        for path in folder.iterdir():
            if (path.name.startswith(".") and path.name not in (SCENE_LOCK_FILE, LOCK_FILE) and path.is_file()
                    and not path.is_symlink()):
                path.unlink(missing_ok=True)
                removed.append(path.name)
    return removed


def resolve_inside(root: Path, relative: str | os.PathLike) -> Path:
    """Resolve `relative` under `root`, refusing anything that would leave it (.., absolute paths, links)."""
    root = Path(root).resolve()
    candidate = (root / relative).resolve()
    if candidate != root and root not in candidate.parents:
        raise ValidationError(f"path {str(relative)!r} leaves the folder {root}")
    return candidate


def project_dir_for(projects_root: Path, project_id: str) -> Path:
    """The folder of project `project_id` under the projects root (the id is validated first)."""
    return resolve_inside(projects_root, validate_id(project_id, "project id"))


TAKE_FILE_KINDS = ("npz", "mp4")


def _whole(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"{what} {value!r} must be a whole number from 0")
    return value


class ProjectPaths:
    """Where each artifact of a project lives, computed from ids (project.json stores none of these paths)."""

    def __init__(self, project_dir: Path):
        self.root = Path(project_dir)

    def absolute(self, relative: str) -> Path:
        return resolve_inside(self.root, relative)

    def relative(self, path: Path) -> str:
        return Path(path).resolve().relative_to(self.root.resolve()).as_posix()

    @property
    def project_file(self) -> Path:
        return self.root / PROJECT_FILE

    def entity_image(self, entity_id: str) -> Path:
        return self.root / "entities" / f"{validate_id(entity_id, 'entity id')}.png"

    def scene_dir(self, scene_id: str) -> Path:
        return self.root / "scenes" / validate_id(scene_id, "scene id")

    def scene_image(self, scene_id: str) -> Path:
        return self.scene_dir(scene_id) / "image.png"

    def chunk_dir(self, scene_id: str, index: int) -> Path:
        """The folder of every take of chunk `index` of the scene."""
        return self.scene_dir(scene_id) / "chunks" / f"{_whole(index, 'chunk index'):03d}"

    def take_file(self, scene_id: str, index: int, take: int, kind: str) -> Path:
        """THE place of a chunk version's file: kind "npz" (frames) or "mp4" (preview), whatever the backend."""
        if kind not in TAKE_FILE_KINDS:
            raise ValueError(f"a take file is one of {TAKE_FILE_KINDS}, not {kind!r}")
        return self.chunk_dir(scene_id, index) / f"take_{_whole(take, 'take number'):02d}.{kind}"

    def take_frames(self, scene_id: str, index: int, take: int) -> Path:
        return self.take_file(scene_id, index, take, "npz")

    def take_preview(self, scene_id: str, index: int, take: int) -> Path:
        return self.take_file(scene_id, index, take, "mp4")

    def chunk_frames(self, scene_id: str, chunk) -> Path:
        """The frames of `chunk`'s active take (anything with .index and .take: a Chunk record)."""
        return self.take_frames(scene_id, chunk.index, chunk.take)

    def chunk_preview(self, scene_id: str, chunk) -> Path:
        return self.take_preview(scene_id, chunk.index, chunk.take)

    def draft(self, scene_id: str) -> Path:
        return self.scene_dir(scene_id) / "draft.mp4"

    def draft_stamp(self, scene_id: str) -> Path:
        """Which takes draft.mp4 joins (written after it): a draft whose stamp is not the active takes is stale."""
        return self.scene_dir(scene_id) / "draft.takes.json"

    def anchor(self, scene_id: str) -> Path:
        """Frame 0 of chunk 0 as a picture, for people (the generator reads the anchor from the chunk itself)."""
        return self.scene_dir(scene_id) / "anchor.png"

    def refined(self, scene_id: str) -> Path:
        return self.scene_dir(scene_id) / "refined.mp4"

    def final(self) -> Path:
        return self.root / "final.mp4"
