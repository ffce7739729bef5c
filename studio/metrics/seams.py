"""Seams between refiner windows: the temporal smoothness score and the X-T slice image.

`seam_score` is the paper's smoothness measure (StreamingT2V Fig. 4): the standard deviation over
time of the mean optical-flow magnitude between consecutive frames. A seam is a jump in motion, so a
video with seams has a spiky flow curve and a high score; lower is better. OpenCV flow, so values
are not on the paper's scale (8.72 naive / 6.01 shared noise / 3.32 randomized there).

`boundary_seam_score` looks at one boundary only (where a kept chunk meets a regenerated one): how
uneven the frame-to-frame change is over a few frames either side of it, in motion and in appearance.

The X-T slice stacks one row of pixels over time: a seam shows as a horizontal break.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from studio.errors import StudioError
from studio.metrics.flow import flow_magnitudes

BOUNDARY_SPAN = 4  # frames on each side of a boundary that its score looks at
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


def boundary_seam_score(frames: np.ndarray, at: int, span: int = BOUNDARY_SPAN) -> float:
    """How much the step from frame at-1 to frame at stands out from the steps around it; lower = smoother.

    Over the frames [at - span, at + span) (clipped to the video), each consecutive pair gets two
    measures of change: its mean optical-flow magnitude (pixels; what `seam_score` uses) and the mean
    grey-level difference left after warping the second frame back onto the first by that flow (a
    colour or lighting jump, which flow alone does not see). The score is the sum of the two standard
    deviations over the pairs: about 0 when every step changes the picture alike, high when one step,
    the seam, jumps. 0.0 when the span holds fewer than 3 frames.
    """
    from studio.metrics.flow import flow_residual

    frames = _check(frames)
    if isinstance(at, bool) or not isinstance(at, int) or not 0 < at < len(frames):
        raise StudioError(f"boundary {at!r} must be a frame index between 1 and {len(frames) - 1} "
                          "(the first frame after the seam)")
    if isinstance(span, bool) or not isinstance(span, int) or span < 1:
        raise StudioError(f"span {span!r} must be a whole number of frames, at least 1")
    around = frames[max(0, at - span):at + span]  # (<= 2 * span, H, W, 3)
    if len(around) < 3:
        return 0.0
    changes = np.array([flow_residual(a, b) for a, b in zip(around[:-1], around[1:])])  # (pairs, 2): pixels, grey levels
    return float(changes[:, 0].std() + changes[:, 1].std())


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
