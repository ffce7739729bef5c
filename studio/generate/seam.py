"""Seam healing: smooth the boundary where a regenerated chunk meets the kept chunk after it.

When chunk k is regenerated and chunks k+1, ... are kept, chunk k+1 no longer continues the frames
before it, and the video jumps there. `heal_seam` takes a window of frames across that boundary (the
last w/2 of chunk k and the first w/2 of chunk k+1, w = refine.window, fewer where a chunk is shorter),
makes a healed version of the window, and blends it back into both chunks with a linear cross-fade
weight: 0 at the window's two outer frames, 1 at the two frames beside the seam. So frames outside the
window are untouched, the window's first and last frames stay exactly as they were, and the seam frames
are the healed ones.

The healed window:

- with diffusion models: one SDEdit pass over the window at the draft size (no upscale), at
  refine.seam_strength (lower than a refinement's strength: healing should change less), through the
  refiner's own encode / denoise / decode path (studio.models.sdedit), with shared noise and randomized
  blending wherever the window is longer than the refiner's window. The frames are denoised together,
  so the seam frames continue each other.
- with the animatic backend (no models): a deterministic pixel cross-fade, with no optical flow. The
  jump at the seam is the difference between the two seam frames less the step the frames around it
  make (the mean of the last step of chunk k and the first step of chunk k+1). The left frames move a
  share of that jump towards the right chunk's look and the right frames the rest back, so after the
  cross-fade weights the jump is spread evenly over every step of the window: the seam keeps 1/(n-1)
  of it (n = window frames). A colour or position jump then fades in over the window instead of
  happening between two frames.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from studio.config import Preset
from studio.errors import StoppedError, StudioError

logger = logging.getLogger(__name__)

MIN_FRAMES_PER_SIDE = 2  # a side needs a frame the cross-fade leaves alone and one it changes
HEALING_MODE = "randomized"  # shared noise and a fresh random cut per overlap: the mode with no seams of its own


@dataclass
class SeamHealing:
    left: np.ndarray  # (L, H, W, 3) uint8: chunk k, its last window[0] frames healed
    right: np.ndarray  # (R, H, W, 3) uint8: chunk k+1, its first window[1] frames healed
    score_before: float  # boundary_seam_score at the seam before healing; lower is smoother
    score_after: float
    window: tuple[int, int]  # frames taken from each side: the last window[0] of left, the first window[1] of right
    method: str  # "sdedit" (diffusion models) | "crossfade" (animatic)


def heal_seam(preset: Preset, left: np.ndarray, right: np.ndarray, *, prompt: str, seed: int,
              stop=None) -> SeamHealing:
    """Heal the seam between chunk k's frames `left` (L, H, W, 3) and chunk k+1's `right` (R, H, W, 3), uint8.

    With diffusion models the window gets one SDEdit pass at refine.seam_strength; on the animatic preset
    (no models) it gets a deterministic pixel cross-fade, which ignores the prompt and the seed (see the
    module docstring). Returns new arrays (the inputs are not changed) and the boundary score before and
    after. The same preset, frames, prompt and seed give the same result. A stop (a set threading.Event) raises
    StoppedError before anything is returned.
    """
    from studio.metrics.seams import boundary_seam_score

    # 1. Check the input and choose the window.
    left, right = check_seam_inputs(left, right, prompt=prompt, seed=seed)
    left_count, right_count = seam_window(preset.refine.window, len(left), len(right))
    _check_stop(stop)
    window = np.concatenate([left[-left_count:], right[:right_count]])  # (n, H, W, 3)

    # 2. The healed window: SDEdit with the refiner's models, or the pixel cross-fade without models.
    if preset.models.backend == "animatic":
        method, healed = "crossfade", crossfade_target(window, left_count)  # (n, H, W, 3) float64
    else:
        from studio.models.memory import enter_stage
        from studio.models.sdedit import sdedit_frames

        enter_stage(preset, "seam")
        method = "sdedit"
        try:
            healed = sdedit_frames(preset, window, prompt, strength=preset.refine.seam_strength, seed=int(seed),
                                   mode=HEALING_MODE, stop=stop)  # (n, H, W, 3) uint8
        except StoppedError:
            raise StoppedError("seam healing stopped; both chunks are unchanged") from None

    # 3. Cross-fade the healed window back into both chunks.
    blended = blend_window(window, healed, crossfade_weights(left_count, right_count))  # (n, H, W, 3) uint8
    new_left, new_right = left.copy(), right.copy()
    new_left[-left_count:] = blended[:left_count]
    new_right[:right_count] = blended[left_count:]

    # 4. Score the boundary before and after.
    score_before = boundary_seam_score(np.concatenate([left, right]), len(left))
    score_after = boundary_seam_score(np.concatenate([new_left, new_right]), len(left))
    _check_stop(stop)
    logger.info("seam healing (%s, %d + %d frames): boundary score %.3f -> %.3f", method, left_count, right_count,
                score_before, score_after)
    return SeamHealing(left=new_left, right=new_right, score_before=score_before, score_after=score_after,
                       window=(left_count, right_count), method=method)


def check_seam_inputs(left, right, *, prompt, seed) -> tuple[np.ndarray, np.ndarray]:
    """Both chunks as (T, H, W, 3) uint8 arrays of one frame size, or a one-line StudioError."""
    chunks = []
    for name, frames in (("left", left), ("right", right)):
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise StudioError(f"{name} chunk frames must be an array of shape (T, H, W, 3), got {frames.shape}")
        if frames.dtype != np.uint8:
            raise StudioError(f"{name} chunk frames must be uint8, got {frames.dtype}; convert them with .astype(np.uint8)")
        if len(frames) < MIN_FRAMES_PER_SIDE:
            raise StudioError(f"{name} chunk has {len(frames)} frame(s); healing a seam needs at least "
                              f"{MIN_FRAMES_PER_SIDE} on each side")
        chunks.append(frames)
    if chunks[0].shape[1:] != chunks[1].shape[1:]:
        raise StudioError(f"the chunks' frame sizes differ ({chunks[0].shape[2]}x{chunks[0].shape[1]} and "
                          f"{chunks[1].shape[2]}x{chunks[1].shape[1]}); heal chunks of one scene, at the draft size")
    if not isinstance(prompt, str):
        raise StudioError(f"the prompt must be text, got {type(prompt).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise StudioError(f"the seed must be a whole number, got {seed!r}")
    return chunks[0], chunks[1]


def seam_window(refine_window: int, left_frames: int, right_frames: int) -> tuple[int, int]:
    """Frames to heal on each side: half the refiner's window each, no more than a chunk has."""
    half = refine_window // 2
    if half < MIN_FRAMES_PER_SIDE:
        raise StudioError(f"refine.window {refine_window} is too short to heal a seam; it needs at least "
                          f"{2 * MIN_FRAMES_PER_SIDE} frames ({MIN_FRAMES_PER_SIDE} on each side)")
    return min(half, left_frames), min(half, right_frames)


def crossfade_weights(left_count: int, right_count: int) -> np.ndarray:
    """(left_count + right_count,) float64: 0 -> 1 over the left frames, 1 -> 0 over the right ones."""
    return np.concatenate([np.linspace(0.0, 1.0, left_count), np.linspace(1.0, 0.0, right_count)])


def crossfade_target(window: np.ndarray, left_count: int) -> np.ndarray:
    """The animatic's healed window (see the module docstring): (n, H, W, 3) uint8 -> float64.

    Each side gets one constant offset, a share of the seam's excess jump; the shares (a-1)/(n-1) and
    (b-1)/(n-1) are the ones that, times the linear cross-fade weights, add the same amount to every step.
    """
    frames = window.astype(np.float64)  # (n, H, W, 3)
    count, right_count = len(frames), len(frames) - left_count
    last, first = frames[left_count - 1], frames[left_count]  # the two seam frames
    usual_step = ((last - frames[left_count - 2]) + (frames[left_count + 1] - first)) / 2
    jump = (first - last) - usual_step  # (H, W, 3): what the seam changes beyond the frames' own motion
    frames[:left_count] += jump * (left_count - 1) / (count - 1)
    frames[left_count:] -= jump * (right_count - 1) / (count - 1)
    return frames


def blend_window(window: np.ndarray, healed: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """window + weight * (healed - window), per frame, rounded to uint8; a weight of 0 keeps a frame exactly."""
    original = window.astype(np.float64)  # (n, H, W, 3)
    mixed = original + weights[:, None, None, None] * (np.asarray(healed, dtype=np.float64) - original)
    return np.clip(np.round(mixed), 0, 255).astype(np.uint8)


def _check_stop(stop) -> None:
    if stop is not None and stop.is_set():
        raise StoppedError("seam healing stopped; both chunks are unchanged")
