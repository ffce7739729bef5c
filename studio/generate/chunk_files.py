"""The scene files a chunk change rewrites: its draft (the ready chunks' previews joined), the anchor image.

draft.mp4 is the preview segments of every ready chunk in order, joined without re-encoding, so
a regeneration or a take switch rewrites it in a blink.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from studio.errors import StudioError
from studio.media.video import concat_mp4, load_frames
from studio.project.model import Chunk, Scene
from studio.project.paths import ProjectPaths, atomic_write_bytes


def same_frames(paths: ProjectPaths, chunk: Chunk, frames: np.ndarray) -> bool:
    """The chunk's recorded frames are exactly `frames` (then remaking it changed nothing)."""
    if not chunk.frames:
        return False
    try:
        return np.array_equal(load_frames(paths.absolute(chunk.frames)), frames)
    except StudioError:
        return False


def save_png(frame: np.ndarray, path: Path) -> None:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())


def write_draft(paths: ProjectPaths, scene: Scene, path: Path, fps: int) -> None:
    """draft.mp4 = the preview segments of every ready chunk in order, joined without re-encoding."""
    segments = []
    for chunk in scene.chunks:
        if chunk.status != "ready" or not chunk.preview:
            break
        segments.append(paths.absolute(chunk.preview))
    if segments:
        concat_mp4(segments, path)
