"""Errors a person reads: one line that says what was wrong and what to do."""


class StudioError(Exception):
    """A user-facing error. Its message is one line, shown as is by the CLI and the UI."""


class ValidationError(StudioError, ValueError):
    """Bad input data: names the field (or row and column) and the bad value."""


class ModelUnavailableError(StudioError):
    """A model could not be loaded (no network, not cached, missing files)."""


class StoppedError(StudioError):
    """The user asked to stop; finished work was kept."""


def no_space_message(error: BaseException, folder=None) -> str | None:
    """What to do when `error` is a full disk (or quota): free space on the disk holding the folder that was
    written; None for any other error."""
    import errno
    import os
    from pathlib import Path

    if not isinstance(error, OSError) or error.errno not in (errno.ENOSPC, errno.EDQUOT):
        return None
    where = Path(folder or (Path(os.fsdecode(error.filename)).parent if error.filename else Path.cwd()))
    mount = where.absolute()
    while mount.parent != mount and not os.path.ismount(mount):
        mount = mount.parent
    reason = "disk quota exceeded" if error.errno == errno.EDQUOT else "no space left"
    return (f"{reason} writing into {where} (on the disk mounted at {mount}): free space there "
            f"(`df -h {mount}` shows it), or write elsewhere, then try again")


def first_line(error: BaseException, limit: int = 160) -> str:
    """The first line of an error's message (or its type's name when it has none), cut to `limit` characters.

    Library errors often carry a multi-line message or a traceback; a person needs its first line only.
    """
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:limit]
