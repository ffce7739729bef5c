"""Per-session projects on disk: where each browser session's projects live and when they go away.

The rule (also in the README):

- A project made in the browser starts in its session's folder,
  `<projects-root>/_sessions/<digest of the session id>/<project-id>/`, under a random id. Only that
  session can reach it (every lookup goes through the caller's own session folder), and the whole
  session folder is deleted when the session ends (the tab is closed, or its state expires).
- "Save" moves the project to `<projects-root>/<name>/`. A saved project is reopened by its name from
  any session and is never deleted by the studio: session clean-up only ever removes
  `<projects-root>/_sessions/<digest>/`.
- Every id that comes from a browser is validated (`validate_id`: no separators, dots or `..`) and
  every path is resolved inside the projects root. `_sessions` itself can never be a project id,
  because ids must start with a letter or digit.

Nothing here imports gradio; the handlers pass in the session id from `gr.Request`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import shutil
import threading
import time
from pathlib import Path

from studio.errors import StudioError
from studio.project.lock import project_lock
from studio.project.model import load_project, save_project
from studio.project.paths import PROJECT_FILE, project_dir_for, resolve_inside, validate_id
from studio.project.relocate import move_project_folder

logger = logging.getLogger(__name__)

SESSIONS_DIR = "_sessions"
DEFAULT_PROJECTS_ROOT = "projects"
# Session folders left behind by a server that stopped are removed after this long.
STALE_SESSION_SECONDS = 24 * 3600


def default_projects_root() -> Path:
    return Path(os.environ.get("STUDIO_PROJECTS_ROOT") or DEFAULT_PROJECTS_ROOT).resolve()


def session_key(session_hash: str | None) -> str:
    """A safe folder name for a session: a digest, so a crafted session id can never become a path."""
    if not session_hash:
        raise StudioError("this request has no session; reload the page")
    return hashlib.sha256(session_hash.encode("utf-8", "replace")).hexdigest()[:24]


class SessionState:
    """What a browser session keeps between events (in gr.State): no models, no project data.

    `stop` is the flag the running stage checks between denoising steps; the Stop button sets it.
    (A plain class, not a dataclass: Gradio turns dataclass values into dicts, and an Event cannot be copied.)
    """

    def __init__(self, session_hash: str | None = None):
        self.session_hash = session_hash
        self.stop = threading.Event()
        self.owner_key: str | None = None  # the secret of the projects this session saved (studio/ui/owners.py)

    def __repr__(self) -> str:  # never the owner key: a repr may reach a log
        return f"SessionState(session_hash={self.session_hash!r}, stop={self.stop.is_set()})"

    def __deepcopy__(self, memo: dict) -> "SessionState":
        # gr.State deep-copies its initial value per session; an Event cannot be copied, and every
        # session must get its own flag anyway.
        clone = SessionState(session_hash=self.session_hash)
        clone.owner_key = self.owner_key
        return clone


class Workspace:
    """The projects root, its session folders and its saved projects."""

    def __init__(self, projects_root: Path | str | None = None):
        self.root = Path(projects_root).resolve() if projects_root else default_projects_root()
        self.root.mkdir(parents=True, exist_ok=True)
        self.sessions_root = self.root / SESSIONS_DIR

    # -- session folders

    def session_dir(self, session_hash: str | None) -> Path:
        return self.sessions_root / session_key(session_hash)

    def new_project_dir(self, session_hash: str | None) -> tuple[str, Path]:
        """A fresh, unguessable project id in the caller's session folder (the folder is not created)."""
        session_dir = self.session_dir(session_hash)
        while True:
            project_id = f"p-{secrets.token_hex(4)}"
            # Not a saved name either: the session could not save its project under its own id.
            if not (session_dir / project_id).exists() and not (self.root / project_id).exists():
                return project_id, session_dir / project_id

    def locate(self, session_hash: str | None, project_id: str) -> Path:
        """The folder of `project_id` as this session sees it: its own session project, else a saved one."""
        project_id = (project_id or "").strip()
        if not project_id:
            raise StudioError("no project yet: write a prompt and press Plan in the Plan tab, or open a saved project")
        validate_id(project_id, "project id")
        own = self.session_dir(session_hash) / project_id
        if (own / PROJECT_FILE).is_file():
            return own
        saved = project_dir_for(self.root, project_id)
        if (saved / PROJECT_FILE).is_file():
            return saved
        raise StudioError(f"no project {project_id!r} in this session or among the saved projects; "
                          "check the id or plan a new one")

    def is_saved(self, project_dir: Path) -> bool:
        return Path(project_dir).resolve().parent == self.root

    # -- saved projects

    def saved_ids(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir()
                      if p.name != SESSIONS_DIR and (p / PROJECT_FILE).is_file())

    def save(self, session_hash: str | None, project_id: str, name: str | None = None) -> tuple[str, Path]:
        """Keep a session project for good under `name` (default: its id); return (id, folder).

        A saved project that is saved again stays where it is. An existing saved project of the same
        name is never overwritten.
        """
        source = self.locate(session_hash, project_id)
        name = (name or "").strip() or project_id
        validate_id(name, "project name")
        target = project_dir_for(self.root, name)
        if source.resolve() == target.resolve():
            return name, target
        if target.exists():
            raise StudioError(f"a saved project named {name!r} already exists; pick another name")
        if self.is_saved(source):
            with project_lock(source):  # "save as" of a saved project: the original stays; a consistent copy of it
                shutil.copytree(source, target, ignore=shutil.ignore_patterns(".*"))  # no lock, owner or half-written files
        else:  # a generation running in it still writes through the old path: that becomes a link here
            try:  # refused, not nested, when another save just made a folder of that name
                move_project_folder(source, target)
            except FileExistsError:
                raise StudioError(f"a saved project named {name!r} already exists; pick another name") from None
        with project_lock(target):
            project = load_project(target)
            project.id = name
            save_project(project, target)
        logger.info("saved project %s -> %s", project_id, target)
        return name, target

    # -- clean-up

    def cleanup_session(self, session_hash: str | None) -> bool:
        """Delete this session's folder (never a saved project). True when something was removed."""
        if not session_hash:
            return False
        folder = self.session_dir(session_hash)
        resolve_inside(self.sessions_root, folder.name)  # belt and braces: only ever under _sessions/
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
            logger.info("removed session folder %s", folder)
            return True
        return False

    def cleanup_stale_sessions(self, max_age_seconds: float = STALE_SESSION_SECONDS) -> int:
        """Remove session folders untouched for `max_age_seconds` (a server stopped before clean-up)."""
        if not self.sessions_root.is_dir():
            return 0
        removed = 0
        now = time.time()
        for folder in self.sessions_root.iterdir():
            if folder.is_dir() and now - folder.stat().st_mtime > max_age_seconds:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        return removed
