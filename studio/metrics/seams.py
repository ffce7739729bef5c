"""Seams between refiner windows: the temporal smoothness score and the X-T slice image.

`seam_score` is the paper's smoothness measure (StreamingT2V Fig. 4): the standard deviation over
time of the mean optical-flow magnitude between consecutive frames. A seam is a jump in motion, so a
video with seams has a spiky flow curve and a high score; lower is better. OpenCV flow, so values
are not on the paper's scale (8.72 naive / 6.01 shared noise / 3.32 randomized there).

The X-T slice stacks one row of pixels over time: a seam shows as a horizontal break.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from studio.errors import StudioError
from studio.metrics.flow import flow_magnitudes

MIN_SLICE_HEIGHT = 256  # the slice is stretched in time to at least this many rows, so it is visible


def _check(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
        raise StudioError(f"frames must be an array of shape (T, H, W, 3), got {frames.shape}")
    if frames.dtype != np.uint8:
        raise StudioError(f"frames must be uint8, got {frames.dtype}")
    return frames


def seam_score(frames: np.ndarray) -> float:
    """Std over time of the mean optical-flow magnitude (lower = smoother); 0.0 for fewer than 3 frames."""
    frames = _check(frames)
    if len(frames) < 3:
        return 0.0
    return float(np.std(flow_magnitudes(frames)))


def xt_slice(frames: np.ndarray, row: int | None = None) -> np.ndarray:
    """Row `row` (default: the middle row) of every frame stacked over time: (T * k, W, 3) uint8.

    Each frame's row is repeated k times (k = ceil(MIN_SLICE_HEIGHT / T), at least 1) so that a short
    video still makes a visible picture; row i * k of the result belongs to frame i.
    """
    frames = _check(frames)
    num_frames, height = frames.shape[:2]
    row = height // 2 if row is None else row
    if not 0 <= row < height:
        raise StudioError(f"row {row} is outside the frame (height {height}); use 0..{height - 1}")
    rows = frames[:, row]  # (T, W, 3)
    repeat = max(1, -(-MIN_SLICE_HEIGHT // num_frames))
    return np.ascontiguousarray(np.repeat(rows, repeat, axis=0))  # (T * repeat, W, 3)


def save_xt_slice(frames: np.ndarray, path: Path, row: int | None = None) -> Path:
    """Write the X-T slice as a PNG, atomically; returns the path."""
    import io

    from PIL import Image

    from studio.project.paths import atomic_write_bytes

    image = Image.fromarray(xt_slice(frames, row))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    path = Path(path)
    atomic_write_bytes(path, buffer.getvalue())
    return path
