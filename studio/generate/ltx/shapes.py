"""What sizes and frame counts LTX-Video can make, checked before any work (no torch here).

The LTX VAE compresses 32x32 pixels and 8 frames into one latent: a clip is 8k + 1 frames (its first
frame has a latent of its own) and its width and height are multiples of 32. A chunk of this backend is
one clip of `streaming.frames_per_chunk` frames whose first `streaming.context_frames` are the previous
chunk's last frames (the condition), so both counts are 8k + 1 and the chunk adds the difference.
"""

from __future__ import annotations

SPATIAL_RATIO = 32
TEMPORAL_RATIO = 8


def latent_frames(frames: int) -> int:
    """Latent frames of a clip of `frames` (8k + 1) pixel frames."""
    return (frames - 1) // TEMPORAL_RATIO + 1


def pixel_frames(latents: int) -> int:
    """Pixel frames a clip of `latents` latent frames decodes to."""
    return (latents - 1) * TEMPORAL_RATIO + 1


def is_clip_length(frames: int) -> bool:
    return frames >= 1 and (frames - 1) % TEMPORAL_RATIO == 0


def padded_length(frames: int) -> int:
    """The shortest 8k + 1 length holding `frames` frames (a window of any length is padded to it)."""
    return pixel_frames(-(-(frames - 1) // TEMPORAL_RATIO) + 1) if frames > 1 else 1


def size_problem(width: int, height: int, what: str = "size") -> str | None:
    """A one-line reason this backend cannot make `width` x `height`, or None."""
    if width < SPATIAL_RATIO or height < SPATIAL_RATIO or width % SPATIAL_RATIO or height % SPATIAL_RATIO:
        fit = (max(SPATIAL_RATIO, round(width / SPATIAL_RATIO) * SPATIAL_RATIO),
               max(SPATIAL_RATIO, round(height / SPATIAL_RATIO) * SPATIAL_RATIO))
        return (f"LTX-Video makes sizes in multiples of {SPATIAL_RATIO}: {what} {width}x{height} cannot be made; "
                f"use e.g. {fit[0]}x{fit[1]}")
    return None


def frames_problem(frames: int, what: str) -> str | None:
    if not is_clip_length(frames):
        below = max(1, (frames - 1) // TEMPORAL_RATIO * TEMPORAL_RATIO + 1)
        return (f"LTX-Video makes clips of 8k + 1 frames: {what} {frames} cannot be made; "
                f"use {below} or {below + TEMPORAL_RATIO}")
    return None


def check_ltx_preset(preset, where: str) -> None:
    """Raise a one-line StudioError naming the key when an LTX preset asks for a shape LTX cannot make."""
    from studio.errors import StudioError

    s, r, ltx = preset.streaming, preset.refine, preset.ltx
    problems = [
        size_problem(s.width, s.height, "streaming size"),
        frames_problem(s.frames_per_chunk, "streaming.frames_per_chunk"),
        frames_problem(s.context_frames, "streaming.context_frames"),
    ]
    if r.window % TEMPORAL_RATIO or r.overlap % TEMPORAL_RATIO or not 0 < r.overlap < r.window:
        problems.append(f"refine.window {r.window} and refine.overlap {r.overlap} must be multiples of {TEMPORAL_RATIO} "
                        "(whole latent frames) with 0 < overlap < window")
    for key, value in (("ltx.condition_strength", ltx.condition_strength), ("ltx.image_strength", ltx.image_strength),
                       ("ltx.adain_factor", ltx.adain_factor)):
        if not 0.0 <= value <= 1.0:
            problems.append(f"{key} {value} must be between 0 and 1")
    for key, sigmas in (("ltx.sigmas", ltx.sigmas), ("ltx.refine_sigmas", ltx.refine_sigmas)):
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 1 for v in sigmas) or \
                any(a <= b for a, b in zip(sigmas, sigmas[1:])):
            problems.append(f"{key} {sigmas} must be decreasing noise levels in (0, 1]")
    problem = next((p for p in problems if p), None)
    if problem:
        raise StudioError(f"{where}: {problem}")


def check_frame_size(width: int, height: int, what: str) -> None:
    """One line for a size this backend cannot make (a scene image, an upload, a refine size)."""
    from studio.errors import StudioError

    problem = size_problem(width, height, what)
    if problem:
        raise StudioError(problem)
