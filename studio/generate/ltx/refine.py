"""Refine for LTX-Video: the latent spatial upscaler, then a short second pass in blended windows.

The published multi-scale recipe (LTXLatentUpsamplePipeline, then a second pass from noise level ~0.91
in a few steps) applied to a whole scene the paper's way: the scene's latents are upscaled x2 by
LTXLatentUpsamplerModel (on denormalised latents, as the pipeline does), noised once with one shared noise
tensor to the first level, and denoised window by window (`refine.window` / `refine.overlap` frames = whole
latent frames), the overlaps merged at every step by randomized blending (a fresh cut per overlap per
step, studio.models.blending). So the frame count is kept and the size doubles.

Seam healing (keep-later) uses the same second pass without the upscaler, at refine.seam_strength.
A clip of any length is padded to 8k + 1 frames with its last frame, and the padding is dropped after.
"""

from __future__ import annotations

import logging
from typing import Callable

import numpy as np

from studio.config import Preset
from studio.errors import StudioError
from studio.generate.ltx.sampler import LtxModels
from studio.generate.ltx.shapes import TEMPORAL_RATIO, check_frame_size, padded_length

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]


def second_pass_sigmas(preset: Preset, strength: float) -> list[float]:
    """The preset's second-pass noise levels when it starts at refine.strength, else `refine.steps` even steps from `strength`."""
    r, ltx = preset.refine, preset.ltx
    if not 0.0 < strength <= 1.0:
        raise StudioError(f"refine strength {strength} must be in (0, 1]")
    if ltx.refine_sigmas and abs(strength - ltx.refine_sigmas[0]) < 1e-9:
        return list(ltx.refine_sigmas)
    return [strength * (1 - i / r.steps) for i in range(r.steps)]


def ltx_refine_frames(preset: Preset, frames: np.ndarray, prompt: str, *, strength: float, seed: int, mode: str,
                      upscale: bool, stop=None, report: Progress | None = None) -> np.ndarray:
    """(T, H, W, 3) uint8 -> (T, 2H, 2W, 3) with `upscale`, else (T, H, W, 3): the second pass over every frame."""
    import torch

    from studio.generate.ltx.components import get_part
    from studio.models.cache import onto_device

    report = report or (lambda fraction, message: None)
    count, height, width = frames.shape[:3]
    check_frame_size(width, height, "the frame size")
    r = preset.refine
    models = LtxModels(preset)
    generator = torch.Generator().manual_seed(int(seed))
    padded = np.concatenate([frames, np.repeat(frames[-1:], padded_length(count) - count, axis=0)])
    report(0.02, "encoding")
    latents = models.encode(padded)  # (1, C, F, h, w)
    if upscale:
        report(0.1, "upscaling the latents x2")
        upsampler = onto_device(preset, get_part(preset, "upsampler"))
        vae = models.vae
        mean = vae.latents_mean.view(1, -1, 1, 1, 1).to(latents.device)
        std = vae.latents_std.view(1, -1, 1, 1, 1).to(latents.device)
        with torch.no_grad():
            raw = upsampler((latents * std + mean).to(upsampler.device, upsampler.dtype)).float().to(latents.device)
        latents = (raw - mean) / std  # (1, C, F, 2h, 2w)
    sigmas = second_pass_sigmas(preset, strength)
    window, overlap = r.window // TEMPORAL_RATIO, r.overlap // TEMPORAL_RATIO
    total = latents.shape[2]
    ranges_window = window if total > window else None
    if mode == "naive" and ranges_window is not None:
        from studio.models.blending import window_ranges, window_slices

        clean = window_slices(latents, window_ranges(total, window, overlap))  # (n, C, w, h, w)
    else:
        clean = latents
    noise = torch.randn(clean.shape, generator=generator).to(clean.device)  # shared by every window unless naive
    sample = (1 - sigmas[0]) * clean + sigmas[0] * noise
    states, mask = models.text(prompt, r.guidance)

    def on_step(done: int, steps: int) -> None:
        report(0.15 + 0.75 * done / steps, f"{mode} step {done}/{steps}")

    logger.info("LTX second pass: %d latent frames, windows of %s, mode %s, from noise %.3f in %d steps",
                total, window, mode, sigmas[0], len(sigmas))
    latents = models.denoise(sample, sigmas, states, mask, guidance=r.guidance, window=ranges_window, overlap=overlap,
                             mode=mode if ranges_window is not None else "randomized", generator=generator, stop=stop,
                             video_frames=total, on_step=on_step)
    report(0.92, "decoding")
    return models.decode(latents, generator)[:count]
