"""A scene's chunk files (each chunk's active take, at the paths of ids): the checks before a run."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from studio.errors import StudioError
from studio.config import Preset
from studio.media.video import chunk_shape, load_frames
from studio.project.model import Chunk, Scene
from studio.project.paths import ProjectPaths, atomic_write_bytes


def same_frames(paths: ProjectPaths, scene_id: str, chunk: Chunk, frames: np.ndarray) -> bool:
    """The chunk's active take holds exactly `frames` (then remaking it changed nothing)."""
    if not paths.chunk_preview(scene_id, chunk).is_file():
        return False
    try:
        return np.array_equal(load_frames(paths.chunk_frames(scene_id, chunk)), frames)
    except StudioError:
        return False


def save_png(frame: np.ndarray, path: Path) -> None:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())


def check_chunk_count(total, preset: Preset) -> None:
    cap = preset.streaming.max_chunks
    if isinstance(total, bool) or not isinstance(total, int) or not 1 <= total <= cap:
        raise StudioError(f"number of chunks {total!r} must be between 1 and {cap} (streaming.max_chunks of preset {preset.name!r})")


def first_not_ready(scene: Scene, paths: ProjectPaths, total: int) -> int:
    for index, chunk in enumerate(scene.chunks[:total]):
        if chunk.status != "ready" or not paths.chunk_frames(scene.id, chunk).is_file():
            return index
    return min(len(scene.chunks), total)


def check_chunk_files(scene: Scene, paths: ProjectPaths, count: int, preset: Preset) -> None:
    """Load chunks 0..count-1 once: a missing, corrupt or wrong-sized file is an error naming it, before any work.
    A preset of another model family than the scene's chunks is refused first, in one line."""
    from studio.generate.family import check_family

    check_family(scene, preset)
    for chunk in scene.chunks[:count]:
        load_frames(paths.chunk_frames(scene.id, chunk), chunk_shape(preset.streaming, chunk.index))


def hidden_to_show(scene: Scene, paths: ProjectPaths, total: int, preset: Preset) -> list[Chunk]:
    """The hidden records a raised count shows again as they are: those right after the ready chunks, up to
    `total`, whose files are whole (hidden records are only ever finished ones; a change before them made them stale)."""
    shown = []
    for chunk in scene.chunks[:total]:
        if chunk.status == "ready":
            continue
        if chunk.status != "hidden" or not paths.chunk_preview(scene.id, chunk).is_file():
            break
        try:
            load_frames(paths.chunk_frames(scene.id, chunk), chunk_shape(preset.streaming, chunk.index))
        except StudioError:
            break  # remade with its own seed and prompt
        shown.append(chunk)
    return shown
