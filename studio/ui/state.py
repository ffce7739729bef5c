"""Whose projects a request reaches, where they live on disk, and when unsaved ones go away.

The rule (also in the README):

- Every request belongs to a visitor (`Visitor`): a signed-in Hugging Face account, else the browser
  (a random key the page keeps in its localStorage through gr.BrowserState and hands over when it
  loads, see `Workspace.bind`), else the bare gradio session of a client that has no page (an API
  client). A visitor's unsaved projects live in its own folder, named by a digest:
  `<root>/_users/<digest>/`, `<root>/_browsers/<digest>/` or `<root>/_sessions/<digest>/`, each
  `<project-id>/` under a random id. Only that visitor reaches it (every lookup goes through the
  caller's own folder), so a reload, or a second browser of the same account, finds the same projects.
- Unsaved projects go away when their visitor has truly gone: a browser's folder after
  BROWSER_IDLE_DAYS without a request or a written file, an API session's after SESSION_IDLE_HOURS (or
  at once when gradio ends its session), an account's never. A reload ends nothing.
- "Save" moves the project to `<projects-root>/<name>/`. A saved project is reopened by its name from
  any session and is never deleted by the studio: clean-up only ever removes visitor folders.
- Every id that comes from a browser is validated (`validate_id`: no separators, dots or `..`) and
  every path is resolved inside the projects root. The visitor folders can never be project ids,
  because ids must start with a letter or digit.
- On a Space with persistent storage (`/data`), the projects root defaults to `/data/projects`.

Nothing here imports gradio; the handlers pass in the session id from `gr.Request` (studio/ui/visitors.py).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from studio.errors import StudioError
from studio.project.lock import project_lock
from studio.project.model import load_project, save_project
from studio.project.paths import PROJECT_FILE, project_dir_for, resolve_inside, validate_id
from studio.project.relocate import move_project_folder

logger = logging.getLogger(__name__)

SESSIONS_DIR = "_sessions"  # an API client's gradio session (no page, so no browser key)
BROWSERS_DIR = "_browsers"  # a browser, by the key its page keeps
USERS_DIR = "_users"  # a signed-in Hugging Face account
VISITOR_DIRS = {"session": SESSIONS_DIR, "browser": BROWSERS_DIR, "user": USERS_DIR}
DEFAULT_PROJECTS_ROOT = "projects"
PERSISTENT_STORAGE = Path("/data")  # a Hugging Face Space's persistent storage, when the Space has it
# Unsaved projects of a visitor with no request and no written file for this long are removed.
SESSION_IDLE_HOURS = 1.0  # API clients: nothing tells the server they have gone
BROWSER_IDLE_DAYS = 7.0  # a browser comes back with its key after a reload, a restart, a weekend
SWEEP_EVERY_SECONDS = 600
# A browser key as `secrets.token_urlsafe(32)` makes it; anything shorter could be guessed.
_BROWSER_KEY = re.compile(r"[A-Za-z0-9_-]{43,128}")


def default_projects_root() -> Path:
    configured = os.environ.get("STUDIO_PROJECTS_ROOT")
    if configured:
        return Path(configured).resolve()
    if PERSISTENT_STORAGE.is_dir() and os.access(PERSISTENT_STORAGE, os.W_OK):
        return (PERSISTENT_STORAGE / DEFAULT_PROJECTS_ROOT).resolve()
    return Path(DEFAULT_PROJECTS_ROOT).resolve()


def _idle_seconds(variable: str, default: float, unit_seconds: float) -> float:
    raw = os.environ.get(variable, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        value = -1.0
    if not value > 0:
        raise StudioError(f"{variable} must be a number above 0, got {raw!r}")
    return value * unit_seconds


def session_key(session_hash: str | None) -> str:
    """A safe folder name for a session: a digest, so a crafted session id can never become a path."""
    if not session_hash:
        raise StudioError("this request has no session; reload the page")
    return hashlib.sha256(session_hash.encode("utf-8", "replace")).hexdigest()[:24]


def is_browser_key(value) -> bool:
    return isinstance(value, str) and bool(_BROWSER_KEY.fullmatch(value))


@dataclass(frozen=True)
class Visitor:
    """Who a request comes from: kind "user" (an account id), "browser" (its key) or "session" (a session id)."""

    kind: str
    ident: str = field(repr=False)  # a browser key is a secret: never in a repr or a log

    @property
    def owner_key(self) -> str | None:
        """The secret whose digest marks this visitor's saved projects (studio/ui/owners.py); None: made per session."""
        if self.kind == "user":
            return f"user:{self.ident}"  # never a browser key: those have no ':'
        if self.kind == "browser":
            return self.ident
        return None

    def folder(self, root: Path) -> Path:
        return root / VISITOR_DIRS[self.kind] / session_key(f"{self.kind}:{self.ident}" if self.kind != "session"
                                                              else self.ident)


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
    """The projects root, its visitor folders and its saved projects."""

    def __init__(self, projects_root: Path | str | None = None):
        self.root = Path(projects_root).resolve() if projects_root else default_projects_root()
        self.root.mkdir(parents=True, exist_ok=True)
        self.sessions_root = self.root / SESSIONS_DIR
        self._browser_of: dict[str, Visitor] = {}  # session id -> the browser its page said it is
        self._last_sweep = 0.0
        self._sweep_lock = threading.Lock()
        # Called with each visitor folder just before it is removed (app.py: forget gradio's copies of its files).
        self.before_remove: Callable[[Path], None] | None = None

    # -- visitors and their folders

    def bind(self, session_hash: str | None, browser_key) -> Visitor:
        """Make the requests of this gradio session act as the browser holding `browser_key`."""
        if not session_hash:
            raise StudioError("this request has no session; reload the page")
        if not is_browser_key(browser_key):
            raise StudioError("the browser key is malformed; reload the page to get a new one")
        visitor = Visitor("browser", browser_key)
        self._browser_of[session_hash] = visitor
        return visitor

    def bound_sessions(self) -> set[str]:
        """The gradio sessions whose page has named its browser (a page's first event binds it)."""
        return set(self._browser_of)

    def visitor(self, who: "Visitor | str | None") -> Visitor:
        """The visitor of a request: given, or the browser its session was bound to, or the session itself."""
        if isinstance(who, Visitor):
            return who
        if not who:
            raise StudioError("this request has no session; reload the page")
        return self._browser_of.get(who) or Visitor("session", who)

    def session_dir(self, who: "Visitor | str | None") -> Path:
        """The folder of this visitor's unsaved projects (not created); every request through it counts as activity."""
        folder = self.visitor(who).folder(self.root)
        try:
            os.utime(folder)
        except OSError:
            pass  # not made yet
        self._maybe_sweep()
        return folder

    def visitor_folders(self):
        """Every visitor folder that exists, of every kind."""
        for name in VISITOR_DIRS.values():
            if (self.root / name).is_dir():
                yield from (folder for folder in (self.root / name).iterdir() if folder.is_dir())

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
                      if p.name not in VISITOR_DIRS.values() and (p / PROJECT_FILE).is_file())

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

    def _remove(self, folder: Path) -> None:
        resolve_inside(self.root, folder.relative_to(self.root))  # belt and braces: only ever under the root
        if self.before_remove is not None:
            try:
                self.before_remove(folder)
            except Exception:  # the folder goes anyway; a stale copy is swept by gradio's own cache expiry
                logger.exception("could not forget the served copies of %s", folder)
        shutil.rmtree(folder, ignore_errors=True)
        logger.info("removed visitor folder %s", folder)

    def cleanup_session(self, session_hash: str | None) -> bool:
        """Gradio ended this session (a closed or reloaded tab, or expired state): forget its browser binding and
        delete its API-session folder. A browser's or an account's folder stays: the same visitor comes back.
        True when something was removed."""
        if not session_hash:
            return False
        self._browser_of.pop(session_hash, None)
        folder = Visitor("session", session_hash).folder(self.root)
        if folder.exists():
            self._remove(folder)
            return True
        return False

    def _maybe_sweep(self) -> None:
        if time.time() - self._last_sweep < SWEEP_EVERY_SECONDS or not self._sweep_lock.acquire(blocking=False):
            return
        try:
            self._last_sweep = time.time()
            self.sweep_idle()
        except StudioError as error:
            logger.warning("idle visitor folders were not swept: %s", error)
        finally:
            self._sweep_lock.release()

    def sweep_idle(self, now: float | None = None) -> int:
        """Remove the API-session and browser folders idle for longer than their limits; how many went."""
        now = time.time() if now is None else now
        limits = {SESSIONS_DIR: _idle_seconds("STUDIO_SESSION_IDLE_HOURS", SESSION_IDLE_HOURS, 3600),
                  BROWSERS_DIR: _idle_seconds("STUDIO_BROWSER_IDLE_DAYS", BROWSER_IDLE_DAYS, 86400)}
        removed = 0
        for kind_dir, limit in limits.items():
            parent = self.root / kind_dir
            for folder in (list(parent.iterdir()) if parent.is_dir() else []):
                if folder.is_dir() and now - _last_activity(folder) > limit:
                    self._remove(folder)
                    removed += 1
        return removed


def _last_activity(folder: Path) -> float:
    """The newest change in `folder` (a request touches the folder; a running job writes files in it)."""
    newest = 0.0
    for path in [folder, *folder.rglob("*")]:
        try:
            newest = max(newest, path.lstat().st_mtime)
        except OSError:
            continue  # removed while we looked
    return newest
