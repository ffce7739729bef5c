"""Move a project folder that a running stage may still be writing to, leaving its old path working.

Saving a session project moves its folder under the projects root. A generation started before the
save still holds the old path, and every chunk it writes goes there: so the old path becomes a link to
the new folder. On Linux the folder and the link change places in one atomic step (renameat2 with
RENAME_EXCHANGE), so there is no moment at which the old path is missing; elsewhere (or on a file
system without it) a rename then a link, under the project lock, which the stages' saves also take.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
from pathlib import Path

from studio.project.lock import project_lock

logger = logging.getLogger(__name__)

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically; False where the system cannot (then nothing changed)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    if result != 0:
        logger.debug("renameat2 exchange unavailable (errno %d); renaming then linking", ctypes.get_errno())
        return False
    return True


def move_project_folder(source: Path, target: Path) -> None:
    """Move the folder `source` to `target` (which must not exist, same file system) and leave `source`
    as a link to it, so a stage that still writes through the old path lands in the moved folder."""
    source, target = Path(source).absolute(), Path(target).absolute()
    with project_lock(source):
        os.symlink(target, target)  # a placeholder at the target that, once swapped, points at the folder
        if _exchange(source, target):
            return
        os.unlink(target)
        os.rename(source, target)
        os.symlink(target, source)
