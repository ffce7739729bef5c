"""Errors a person reads: one line that says what was wrong and what to do."""


class StudioError(Exception):
    """A user-facing error. Its message is one line, shown as is by the CLI and the UI."""


class ValidationError(StudioError, ValueError):
    """Bad input data: names the field (or row and column) and the bad value."""


class ModelUnavailableError(StudioError):
    """A model could not be loaded (no network, not cached, missing files)."""


class StoppedError(StudioError):
    """The user asked to stop; finished work was kept."""
