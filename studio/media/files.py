"""Opening a project file for reading: regular files only.

A name in a project folder can be a FIFO (reading one waits for a writer for ever), a device or a
folder. The file is opened without blocking and without following a final symlink, and refused unless
what was opened is a regular file; checking the opened descriptor (not the name first) leaves no gap
for a swap between the check and the open.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from studio.errors import StudioError


def open_regular(path: Path, what: str = "file") -> BinaryIO:
    """`path` opened for binary reading when it is a regular file; else StudioError (FileNotFoundError
    when it does not exist, so callers keep their "missing" message)."""
    path = Path(path)
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise
    except OSError as error:  # ELOOP: a symlink; EACCES, EISDIR...
        raise StudioError(f"{what} {path} cannot be opened ({error.strerror}); it must be a regular file") from None
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise StudioError(f"{what} {path} is not a regular file (a pipe, device or folder); remove it and make it again")
    os.set_blocking(descriptor, True)
    return os.fdopen(descriptor, "rb")
