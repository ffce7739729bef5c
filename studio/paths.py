"""The project folder on disk: safe ids, paths confined to a root, atomic writes, and where each file lives.

Every write goes to a temporary file beside its target and is renamed into place, so a crash leaves
either the old file or the new one, never half of one. Ids become folder and file names, so they are
checked before any path is built from them.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

from studio.errors import ValidationError

PROJECT_FILE = "project.json"
BACKUP_FILE = "project.json.bak"

_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def validate_id(value: Any, what: str = "id") -> str:
    """Return `value` if it is a safe identifier (used in file names); raise otherwise.

    Ids become folder and file names, so no separators, no dots, no `..`, at most 64 characters.
    """
    if not isinstance(value, str) or not _ID_PATTERN.match(value):
        raise ValidationError(
            f"{what} {value!r} is not valid: use 1-64 letters, digits, '-' or '_' "
            "(no spaces, dots or slashes)"
        )
    return value


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so a crash leaves either the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes files private (0600); project files are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
            if path.name.startswith(".") and path.is_file() and not path.is_symlink():
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


class ProjectPaths:
    """Where each artifact of a project lives; relative paths are what project.json stores."""

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

    def chunk_frames(self, scene_id: str, index: int) -> Path:
        return self.scene_dir(scene_id) / f"chunk_{index:03d}.npz"

    def chunk_preview(self, scene_id: str, index: int) -> Path:
        return self.scene_dir(scene_id) / f"chunk_{index:03d}.mp4"

    def draft(self, scene_id: str) -> Path:
        return self.scene_dir(scene_id) / "draft.mp4"

    def refined(self, scene_id: str) -> Path:
        return self.scene_dir(scene_id) / "refined.mp4"

    def final(self) -> Path:
        return self.root / "final.mp4"
