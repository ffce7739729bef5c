"""One writer of project.json at a time: a per-project lock around every read-modify-write.

Two writers that each load project.json, change their part and save the whole file lose one of the
changes (the later save writes back the other's stale copy). So every change to project.json runs as
`with project_lock(project_dir): load, change, save`. The lock is an fcntl.flock on `.project.lock` in
the project folder: it holds across threads and processes on one machine. Its name starts with a dot,
so archives leave it out and it is never mistaken for project content. It is re-entrant within a
thread, so a handler that holds it may call a stage that takes it again.
"""

from __future__ import annotations

import fcntl
import functools
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from studio.errors import StudioError

LOCK_FILE = ".project.lock"

_held = threading.local()  # this thread's locks: resolved project folder -> (file descriptor, depth)


def _locks() -> dict[str, list[int]]:
    if not hasattr(_held, "locks"):
        _held.locks = {}
    return _held.locks


@contextmanager
def project_lock(project_dir: Path) -> Iterator[None]:
    """Hold the project's lock for the block (waiting for another holder to finish); nested use is free."""
    folder = Path(project_dir).resolve()
    key = str(folder)
    locks = _locks()
    if key in locks:  # this thread holds it already: flock on a second descriptor would wait on ourselves
        locks[key][1] += 1
        try:
            yield
        finally:
            locks[key][1] -= 1
        return
    if not folder.is_dir():
        raise StudioError(f"project folder {folder} does not exist; plan the project or open a saved one")
    descriptor = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        locks[key] = [descriptor, 1]
        try:
            yield
        finally:
            del locks[key]
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


def holds_project_lock(project_dir: Path) -> bool:
    """True when this thread holds the lock of `project_dir` (for checks in tests and assertions)."""
    return str(Path(project_dir).resolve()) in _locks()


def locked_project(function: Callable) -> Callable:
    """Run `function(project_dir, ...)` holding that project's lock: its load, change and save are one step."""
    @functools.wraps(function)
    def locked(project_dir, *args, **kwargs):
        with project_lock(project_dir):
            return function(project_dir, *args, **kwargs)
    return locked
