"""Gradio's copies of the files the studio served: they expire, and go with the folder they came from.

Gradio serves a returned file from a copy in its cache, `<cache>/<SHA-256 of the bytes>/<name>`
(gradio.processing_utils.save_file_to_cache), so deleting a project or a visitor's folder does not
stop its archive or videos from downloading by their URL. Two rules close that:

- every copy expires: `DELETE_CACHE` is gradio's own `delete_cache` option (every hour, the copies
  made more than a day ago go; gradio also empties its cache when the server stops);
- when a visitor folder is removed, `forgetter` deletes the cached copy of each of its files at once
  (found by the same content hash gradio names them by). A copy of a byte-identical file of another
  visitor is the same copy: that visitor's next event makes it again.
"""

from __future__ import annotations

import logging
from pathlib import Path

logger = logging.getLogger(__name__)

DELETE_CACHE = (3600, 24 * 3600)  # (how often gradio sweeps its cache, the age of the copies it removes) in seconds


def cached_copy(cache_root: Path, file: Path) -> Path:
    """Where gradio keeps its served copy of `file` (whether or not it made one)."""
    from gradio import processing_utils
    from gradio_client.utils import strip_invalid_filename_characters

    return Path(cache_root) / processing_utils.hash_file(file) / strip_invalid_filename_characters(file.name)


def forget_files(blocks, folder: Path) -> int:
    """Delete gradio's served copies of every file under `folder`; how many there were."""
    cache_root = Path(blocks.GRADIO_CACHE)
    if not cache_root.is_dir():
        return 0
    forgotten = set()
    for file in Path(folder).rglob("*"):
        if not file.is_file() or file.is_symlink():
            continue
        try:
            copy = cached_copy(cache_root, file)
        except OSError:
            continue  # unreadable or removed meanwhile: gradio could not have copied it either
        if copy.is_file():
            copy.unlink(missing_ok=True)
            try:
                copy.parent.rmdir()  # only when no other name of these bytes is left in it
            except OSError:
                pass
            forgotten.add(str(copy))
    for file_set in getattr(blocks, "temp_file_sets", []):
        file_set -= forgotten
    if forgotten:
        logger.info("forgot %d served copies of %s", len(forgotten), folder)
    return len(forgotten)


def forgetter(blocks):
    """The Workspace's `before_remove` hook for `blocks`."""
    return lambda folder: forget_files(blocks, folder)
