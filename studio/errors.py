"""Errors a person reads: one line that says what was wrong and what to do."""


class StudioError(Exception):
    """A user-facing error. Its message is one line, shown as is by the CLI and the UI."""


class ValidationError(StudioError, ValueError):
    """Bad input data: names the field (or row and column) and the bad value."""


class ModelUnavailableError(StudioError):
    """A model could not be loaded (no network, not cached, missing files)."""


class StoppedError(StudioError):
    """The user asked to stop; finished work was kept."""


def first_line(error: BaseException, limit: int = 160) -> str:
    """The first line of an error's message (or its type's name when it has none), cut to `limit` characters.

    Library errors often carry a multi-line message or a traceback; a person needs its first line only.
    """
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:limit]
