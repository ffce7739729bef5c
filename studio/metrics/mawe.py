"""MAWE, the motion-aware warp error (StreamingT2V §5.2), and motion / consistency over time.

For each pair of consecutive frames (a, b) we take the optical flow a -> b, warp b back onto a and
measure what is left:

    warp error   W(a, b) = mean squared RGB difference between a and warp(b, flow)   (0-255 scale)
    flow score   OFS(a, b) = mean over pixels of |flow|^2                               (pixels^2)
    MAWE         = mean W / (9.5 * mean OFS)

A video is good only when it both moves and stays consistent: a still video has OFS = 0 and MAWE is
infinite (not NaN); a flickering one has a large W. The official script uses torchvision's RAFT on
frames resized to 720x720; we have no torchvision, so the flow is OpenCV's (studio.metrics.flow, DIS)
on frames resized to ANALYSIS_SIZE. The figures are on another scale than the paper's (StreamingT2V
52.3 there) and only comparable with each other. Ratio of means (not mean of ratios) so that one
still pair inside a moving video does not make the whole score infinite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

MAWE_COEFF = 9.5  # the official script's constant
ANALYSIS_SIZE = 256  # frames are resized to 256x256 so the flow's pixel scale does not depend on the video size
STILL_FLOW_SCORE = 1e-4  # mean |flow|^2 below this (0.01 px per frame) counts as no motion at all
CHUNK_FRAMES = 8  # the new frames of one streamed chunk
MAX_PSNR_DB = 99.0  # a perfect warp would be infinite dB; capped so reports stay plain JSON numbers

MAWE_NOTE = (
    "MAWE here uses OpenCV DIS optical flow on frames resized to 256x256, not RAFT at 720x720 as in the "
    "paper, so its scale differs from the paper's figures (e.g. StreamingT2V 52.3); compare it only with "
    "other videos measured by this tool. Lower is better; infinite means the video does not move."
)


@dataclass
class MotionStats:
    """Per-pair flow and warp statistics of a video, and what the report derives from them."""

    warp_errors: np.ndarray  # (T-1,) mean squared error after warping, 0-255 scale
    flow_scores: np.ndarray  # (T-1,) mean squared flow magnitude, pixels^2 at ANALYSIS_SIZE
    flow_means: np.ndarray  # (T-1,) mean flow magnitude, pixels per frame at ANALYSIS_SIZE
    per_chunk: list[dict] = field(default_factory=list)

    @property
    def warp_error(self) -> float:
        return float(self.warp_errors.mean())

    @property
    def flow_score(self) -> float:
        return float(self.flow_scores.mean())

    @property
    def mawe(self) -> float:
        return motion_aware_warp_error(self.warp_error, self.flow_score)


def motion_aware_warp_error(warp_error: float, flow_score: float, coeff: float = MAWE_COEFF) -> float:
    """W / (coeff * OFS); math.inf when there is no motion (a still video), never NaN."""
    if not flow_score >= STILL_FLOW_SCORE:  # also catches a NaN flow score
        return math.inf
    return float(warp_error / (coeff * flow_score))


def resize_for_analysis(frames: np.ndarray, size: int = ANALYSIS_SIZE) -> np.ndarray:
    """(T, H, W, 3) uint8 -> (T, size, size, 3) uint8 (area interpolation when shrinking)."""
    import cv2

    height, width = frames.shape[1:3]
    if (height, width) == (size, size):
        return frames
    interpolation = cv2.INTER_AREA if height * width > size * size else cv2.INTER_LINEAR
    return np.stack([cv2.resize(frame, (size, size), interpolation=interpolation) for frame in frames])  # (T, size, size, 3)


def psnr(mean_squared_error: float) -> float:
    """Peak signal-to-noise ratio in dB of a 0-255 mean squared error, capped at MAX_PSNR_DB."""
    if mean_squared_error <= 0:
        return MAX_PSNR_DB
    return float(min(MAX_PSNR_DB, 10.0 * math.log10(255.0**2 / mean_squared_error)))


def motion_stats(frames: np.ndarray, *, chunk_frames: int = CHUNK_FRAMES, resize: bool = True) -> MotionStats:
    """Flow and warp error of every consecutive pair, plus the per-chunk summary.

    `frames` is (T, H, W, 3) uint8 with T >= 2. Chunk c covers frames [c*8, c*8+8) and the pairs that
    start in it, so the jump into the next chunk (where streaming seams live) belongs to chunk c.
    """
    pairs = PairStats()
    pairs.add(resize_for_analysis(frames) if resize else frames)
    return pairs.finish(chunk_frames)


class PairStats:
    """`motion_stats` over a video given batch by batch (a long video is never held whole): each batch's
    pairs, and the pair joining it to the previous batch's last frame. Holds one frame between batches."""

    def __init__(self):
        self.warp_errors: list[float] = []
        self.flow_scores: list[float] = []
        self.flow_means: list[float] = []
        self.frames = 0
        self.last: np.ndarray | None = None  # (H, W, 3) the previous batch's last frame

    def add(self, frames: np.ndarray) -> None:
        """Frames (B, H, W, 3) uint8, already at the analysis size, following those added before."""
        from studio.metrics.flow import optical_flow, warp

        previous = self.last
        for frame in frames:
            if previous is not None:
                flow = optical_flow(previous, frame)  # (H, W, 2): where each pixel of `previous` went in `frame`
                aligned = warp(frame, flow)  # (H, W, 3): `frame` pulled back onto `previous`
                difference = previous.astype(np.float32) - aligned.astype(np.float32)
                self.warp_errors.append(float(np.mean(difference**2)))
                squared = np.sum(flow.astype(np.float64) ** 2, axis=-1)  # (H, W)
                self.flow_scores.append(float(squared.mean()))
                self.flow_means.append(float(np.sqrt(squared).mean()))
            previous = frame
            self.frames += 1
        if len(frames):
            self.last = np.array(frames[-1])  # a copy: the batch itself is not kept alive

    def finish(self, chunk_frames: int = CHUNK_FRAMES) -> MotionStats:
        stats = MotionStats(np.asarray(self.warp_errors), np.asarray(self.flow_scores), np.asarray(self.flow_means))
        stats.per_chunk = per_chunk_summary(stats, self.frames, chunk_frames)
        return stats


def per_chunk_summary(stats: MotionStats, num_frames: int, chunk_frames: int = CHUNK_FRAMES) -> list[dict]:
    """Motion (mean flow, px/frame) and consistency (warping PSNR, dB; higher = steadier) per chunk."""
    rows = []
    for chunk, start in enumerate(range(0, num_frames, chunk_frames)):
        end = min(start + chunk_frames, num_frames)
        pairs = slice(start, min(end, num_frames - 1))  # pair i joins frame i and i + 1
        warp_errors = stats.warp_errors[pairs]
        if len(warp_errors) == 0:  # a last chunk of one frame has no pair of its own
            continue
        warp_error = float(warp_errors.mean())
        rows.append({
            "chunk": chunk,
            "start_frame": start,
            "end_frame": end,
            "motion": float(stats.flow_means[pairs].mean()),
            "warp_error": warp_error,
            "consistency": psnr(warp_error),
            "mawe": motion_aware_warp_error(warp_error, float(stats.flow_scores[pairs].mean())),
        })
    return rows
