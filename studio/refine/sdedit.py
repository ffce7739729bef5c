"""The one encode -> windowed SDEdit -> decode path over pixel frames, shared by refinement and seam healing.

`refine_scene` runs it on a whole upscaled scene at the refine strength; `heal_seam`
(studio/generate/seam.py) runs it on the few draft-size frames around a seam at the lower seam strength.
Both get the same models, the same private DDIM scheduler and the same windowed denoising loop
(studio.refine.stage.denoise_video), so a fix to one is a fix to both.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from studio.config import Preset
from studio.errors import StudioError

Progress = Callable[[float, str], None]


def sdedit_frames(preset: Preset, pixels: np.ndarray, prompt: str, *, strength: float, seed: int, mode: str,
                  stop=None, report: Progress | None = None) -> np.ndarray:
    """Encode, denoise in the preset's refine windows, decode: (T, H, W, 3) uint8 -> (T, H, W, 3) uint8.

    Every random draw comes from one CPU generator seeded with `seed`, so the same call gives the same
    frames. A stop raises StoppedError between steps.
    """
    import torch
    from diffusers import DDIMScheduler

    from studio.models.cache import get_component, onto_device
    from studio.models.diffusion import encode_prompts, frames_to_latents, latents_to_frames, vae_scale_factor
    from studio.refine.stage import denoise_video

    report = report or (lambda fraction, message: None)
    config = preset.refine
    vae = get_component(preset, "vae")
    unet = get_component(preset, "refiner_unet")
    scale = vae_scale_factor(vae)
    if pixels.shape[1] % scale or pixels.shape[2] % scale:
        raise StudioError(f"frame size {pixels.shape[2]}x{pixels.shape[1]} must be divisible by the VAE factor {scale}")
    # A private scheduler: set_timesteps mutates it, and the cached one is shared by every session.
    # Trailing spacing, as the official refiner: 30 steps at strength 0.6 start at t = 599.
    scheduler = DDIMScheduler.from_config(get_component(preset, "scheduler").config, timestep_spacing="trailing")
    text_encoder = onto_device(preset, get_component(preset, "text_encoder"))
    text_states = encode_prompts(get_component(preset, "tokenizer"), text_encoder, [config.negative_prompt, prompt])  # (2, 77, D)
    report(0.02, "encoding")
    latents = frames_to_latents(onto_device(preset, vae), pixels)  # (1, 4, T, h, w)
    latents = latents.to(onto_device(preset, unet).device)
    generator = torch.Generator().manual_seed(seed)

    def on_step(done: int, total: int) -> None:
        report(0.05 + 0.85 * done / total, f"{mode} step {done}/{total}")

    latents = denoise_video(latents, unet=unet, scheduler=scheduler, text_states=text_states, window=config.window,
                            overlap=config.overlap, steps=config.steps, strength=strength, guidance=config.guidance,
                            guidance_rescale=config.guidance_rescale, windows_per_call=config.windows_per_call,
                            mode=mode, generator=generator, stop=stop, on_step=on_step)
    report(0.92, "decoding")
    return latents_to_frames(onto_device(preset, vae), latents, tiling=config.vae_tiling)
