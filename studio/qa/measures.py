"""Model-free drift measures of one chunk: colour against the scene's anchor, and the start-seam jump.

They need no weights, so they always run (offline, on any preset):

- colour drift: the chunk's colours in CIE L*a*b* (OpenCV's 8-bit Lab, rescaled to L in [0, 100] and a, b
  in [-128, 127]), where a Euclidean distance is roughly how different two colours look (CIE76 delta E).
  `colour_shift` is the delta E between the anchor's mean colour and the chunk's; `spread_shift` the
  same distance between their per-channel standard deviations (contrast and saturation sliding).
- seam jump: the optical flow from the previous chunk's last frame to this chunk's first new frame,
  over the median flow between consecutive frames inside the chunk. A seam that moves like the chunk
  around it scores about 1; a cut or a jump scores many times that. Flow alone misses a change of
  picture that does not move (an inverted frame), so the intensity left after flow compensation is
  compared the same way (`seam_residual_ratio`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from studio.errors import StudioError

# Motion below this (pixels per frame) counts as a still shot: ratios are taken over at least this
# much, so a static chunk's tiny noise does not turn a small seam into a huge ratio.
MIN_MOTION_PX = 0.25
# Likewise for the residual after flow compensation (grey levels out of 255).
MIN_RESIDUAL = 1.0
MAX_SIDE = 128  # frames are shrunk to this longest side first: drift is a large-scale property


@dataclass
class ColourStats:
    """Mean and standard deviation of L*, a*, b* over every pixel of some frames."""

    mean: np.ndarray  # (3,)
    spread: np.ndarray  # (3,)


def shrink(frames: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    """(T, H, W, 3) uint8 frames scaled down so the longest side is at most `max_side`."""
    import cv2

    frames = np.asarray(frames)
    if frames.ndim == 3:
        frames = frames[None]
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise StudioError(f"frames must be an array of shape (T, H, W, 3), got {frames.shape}")
    height, width = frames.shape[1:3]
    scale = max_side / max(height, width)
    if scale >= 1:
        return frames
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.stack([cv2.resize(np.ascontiguousarray(f), size, interpolation=cv2.INTER_AREA) for f in frames])


def lab_pixels(frames: np.ndarray) -> np.ndarray:
    """Every pixel of (T, H, W, 3) RGB uint8 frames in CIE L*a*b*: (N, 3) float64."""
    import cv2

    frames = shrink(frames)
    t, h, w, _ = frames.shape
    lab = cv2.cvtColor(np.ascontiguousarray(frames.reshape(t * h, w, 3)), cv2.COLOR_RGB2LAB)  # (T*H, W, 3) 8-bit Lab
    lab = lab.reshape(-1, 3).astype(np.float64)  # (N, 3)
    lab[:, 0] *= 100.0 / 255.0  # OpenCV stores L as L * 255 / 100 and a, b offset by 128
    lab[:, 1:] -= 128.0
    return lab


def colour_stats(frames: np.ndarray) -> ColourStats:
    lab = lab_pixels(frames)  # (N, 3)
    return ColourStats(mean=lab.mean(axis=0), spread=lab.std(axis=0))


def colour_drift(anchor: ColourStats, chunk: ColourStats) -> tuple[float, float]:
    """(delta E of the mean colours, distance of the per-channel spreads), both in Lab units."""
    return float(np.linalg.norm(chunk.mean - anchor.mean)), float(np.linalg.norm(chunk.spread - anchor.spread))


def pair_motion(frame_a: np.ndarray, frame_b: np.ndarray) -> tuple[float, float]:
    """(mean flow magnitude in pixels, mean absolute grey-level residual after warping b back onto a)."""
    from studio.metrics.flow import flow_residual

    return flow_residual(frame_a, frame_b)


@dataclass
class SeamJump:
    seam_flow: float  # pixels, previous chunk's last frame -> this chunk's first
    chunk_flow: float  # median pixels per frame inside the chunk
    seam_flow_ratio: float
    seam_residual_ratio: float


def seam_jump(previous_last: np.ndarray, chunk_frames: np.ndarray) -> SeamJump:
    """How the start seam of a chunk compares with the motion inside it (see the module docstring)."""
    frames = shrink(chunk_frames)  # (T, h, w, 3)
    before = shrink(previous_last)[0]  # (h', w', 3)
    if before.shape != frames.shape[1:]:
        import cv2

        before = cv2.resize(before, (frames.shape[2], frames.shape[1]), interpolation=cv2.INTER_AREA)
    seam_flow, seam_residual = pair_motion(before, frames[0])
    inside = [pair_motion(frames[i], frames[i + 1]) for i in range(len(frames) - 1)]
    chunk_flow = float(np.median([m for m, _ in inside])) if inside else 0.0
    chunk_residual = float(np.median([r for _, r in inside])) if inside else 0.0
    return SeamJump(
        seam_flow=seam_flow,
        chunk_flow=chunk_flow,
        seam_flow_ratio=seam_flow / max(chunk_flow, MIN_MOTION_PX),
        seam_residual_ratio=seam_residual / max(chunk_residual, MIN_RESIDUAL),
    )
