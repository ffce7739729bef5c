"""Who may change a saved project: the person who saved it (its account, else its browser).

A saved project (`<projects-root>/<name>/`) can be opened by name from every session, so its name
alone must not be enough to change it. The rule (also in the README):

- Whoever saves a project holds an owner key (`SessionState.owner_key`): a signed-in account's is made
  from its account id on the server (studio/ui/visitors.py), a browser's is the random key its page
  keeps in localStorage, and an API session's is a random secret made with `secrets` for that session.
  So a reload, or another browser of the same account, is still the owner. The project folder keeps
  only the key's SHA-256, in OWNER_FILE, a dot-file that the archive never packs and an import never
  unpacks (studio/export/archive.py skips dot-files and takes only project members).
- The owner changes its saved project in place: generate, refine, edit, export, save it again.
- Any other session that opens it gets a copy in its own session folder, under a new id; every change
  of the saved one by a non-owner is refused with one line that says to open it.
- A project saved before owners existed (no OWNER_FILE) has no owner: it is a read-only template that
  opens as a copy for everyone.
- A save name that is another session's project id, or another owner's saved project, is refused, so
  no session can take a name first and lock another out of it.

Nothing here imports gradio.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import shutil
from pathlib import Path

from studio.errors import StudioError
from studio.project.model import load_project, save_project
from studio.project.paths import atomic_write_text, project_dir_for, validate_id

logger = logging.getLogger(__name__)

OWNER_FILE = ".owner"  # a dot-file: the archive, the cluster's file transfer and the copy below skip it


def owner_key(session) -> str:
    """The session's owner key, made on first use (a session that never saves needs none)."""
    key = getattr(session, "owner_key", None)
    if not key:
        key = secrets.token_urlsafe(32)
        session.owner_key = key
    return key


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def claim(project_dir: Path, session) -> None:
    """Make `session` the owner of the project in `project_dir` (only the key's digest is written)."""
    atomic_write_text(Path(project_dir) / OWNER_FILE, _digest(owner_key(session)) + "\n")


def owns(project_dir: Path, session) -> bool:
    """Whether `session` holds the key of the project in `project_dir` (never true without an owner file)."""
    key = getattr(session, "owner_key", None) if session is not None else None
    if not key:
        return False
    try:
        stored = (Path(project_dir) / OWNER_FILE).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return False
    return hmac.compare_digest(stored, _digest(key))  # constant time: the digest is not guessed byte by byte


def not_yours(name: str) -> StudioError:
    return StudioError(f"{name!r} is a saved project of another session (or one saved before projects had owners): "
                       "press Open to work on a copy of it in this session")


def check_can_change(workspace, project_dir: Path, session) -> None:
    """Refuse a change of a saved project by a session that does not own it (session projects are always its own)."""
    if workspace.is_saved(project_dir) and not owns(project_dir, session):
        raise not_yours(Path(project_dir).name)


def open_for_session(workspace, session_hash: str | None, session, project_id: str) -> tuple[Path, bool]:
    """The folder this session works on for `project_id`, and whether it is a fresh copy of another's project."""
    project_dir = workspace.locate(session_hash, project_id)
    if not workspace.is_saved(project_dir) or owns(project_dir, session):
        return project_dir, False
    return copy_into_session(workspace, session_hash, project_dir), True


def _left_behind(folder: str, names: list[str]) -> list[str]:
    # The owner file, temporary files of a running write and links stay with the original.
    return [n for n in names if n.startswith(".") or os.path.islink(os.path.join(folder, n))]


def copy_into_session(workspace, session_hash: str | None, saved_dir: Path) -> Path:
    """Copy a saved project into the session's folder under a new id; the copy appears whole or not at all."""
    copy_id, target = workspace.new_project_dir(session_hash)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{copy_id}.copying"  # a dot-name is never a project id, so it is never opened
    try:
        shutil.copytree(saved_dir, staging, ignore=_left_behind)
        project = load_project(staging)
        project.id = copy_id
        save_project(project, staging)
        os.rename(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("copied saved project %s into a session as %s", saved_dir.name, copy_id)
    return target


def check_save_name(workspace, session_hash: str | None, name: str) -> None:
    """Refuse a save name that is another session's project id (it would lock that session out of it)."""
    own = workspace.session_dir(session_hash)
    if any(folder != own and (folder / name).exists() for folder in workspace.visitor_folders()):
        raise StudioError(f"{name!r} is the id of another session's project; pick another name")


def save(workspace, session_hash: str | None, session, project_id: str, name: str | None) -> tuple[str, Path]:
    """Save the project under `name` (default: its id) with this session as its owner; return (id, folder)."""
    source = workspace.locate(session_hash, project_id)
    check_can_change(workspace, source, session)
    name = (name or "").strip() or (project_id or "").strip()
    validate_id(name, "project name")
    target = project_dir_for(workspace.root, name)
    if source.resolve() != target.resolve():
        if target.exists() and not owns(target, session):
            raise StudioError(f"a saved project named {name!r} already exists and belongs to another session; "
                              "pick another name")
        check_save_name(workspace, session_hash, name)
        # Claimed before it moves: the project is never saved without its owner, not even for a moment.
        claim(source, session)
    return workspace.save(session_hash, project_id, name)
