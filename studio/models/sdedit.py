"""The one encode -> windowed SDEdit -> decode path over pixel frames, shared by refinement and seam healing.

`refine_scene` (studio/refine/stage.py) runs it on a whole upscaled scene at the refine strength;
`heal_seam` (studio/generate/seam.py) runs it on the few draft-size frames around a seam at the lower
seam strength. Both get the same models, the same private DDIM scheduler and the same windowed
denoising loop (`denoise_video`, its windows laid out and merged by studio.models.blending), so a fix
to one is a fix to both. It lives below the stages (like studio.models.diffusion) so that generate/
uses it without importing refine/, a later stage.

The merge happens on the UNet's outputs (after guidance) before the solver update, applied to one
full-length latent; see studio/refine/stage.py for the modes (randomized, shared-noise, naive).
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Callable

import numpy as np

from studio.config import REFINE_MODES, Preset
from studio.errors import StoppedError, StudioError
from studio.models.blending import blend_sources, check_window, fixed_sources, merge_windows, window_ranges, window_slices

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

WINDOWS_PER_CALL = 2  # windows per UNet call (x2 for guidance) of a direct call; a stage passes refine.windows_per_call

Progress = Callable[[float, str], None]


# ----------------------------------------------------------------------------- model helpers


def sdedit_timesteps(scheduler, steps: int, strength: float) -> "torch.Tensor":
    """`steps` solver timesteps from about strength * T (T = 1000) down to 0: SDEdit starts at the first one.

    The schedule is made for steps / strength steps and its last `steps` are kept (diffusers' img2img
    does the same), so every asked-for step runs; cutting a `steps`-step schedule at strength * T would
    run only strength * steps of them.
    """
    import math

    if not 0.0 < strength <= 1.0:
        raise StudioError(f"refine strength {strength} must be in (0, 1]; the official value is 0.6 (t = 600 of 1000)")
    if steps < 1:
        raise StudioError(f"refine steps {steps} must be at least 1")
    total = max(steps, math.ceil(steps / strength - 1e-9))
    if total > scheduler.config.num_train_timesteps:
        raise StudioError(f"refine strength {strength} is too low for {steps} steps ({total} schedule steps are more "
                          f"than the model's {scheduler.config.num_train_timesteps}); raise the strength or lower the steps")
    scheduler.set_timesteps(total)
    return scheduler.timesteps[total - steps:]


def predict_windows(unet, windows: "torch.Tensor", timestep, text_states: "torch.Tensor", guidance: float,
                    guidance_rescale: float = 0.0, windows_per_call: int = WINDOWS_PER_CALL) -> "torch.Tensor":
    """Guided model output of each window: (n, 4, F, h, w) -> (n, 4, F, h, w) float32.

    Negative and positive prompts go through the UNet in one batch (batched CFG), a few windows per call.
    `guidance_rescale` pulls the guided output's spread back towards the positive prediction's (Lin et al.
    2023; the official refiner uses 0.2), which keeps high guidance from over-saturating.
    """
    import torch
    from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import rescale_noise_cfg

    outputs = []
    with torch.no_grad():
        for group in windows.split(windows_per_call):
            count = group.shape[0]
            sample = torch.cat([group, group]).to(unet.device, unet.dtype)  # (2k, 4, F, h, w)
            states = text_states.to(unet.device, unet.dtype).repeat_interleave(count, dim=0)  # (2k, 77, D)
            output = unet(sample, timestep, encoder_hidden_states=states).sample.float()  # (2k, 4, F, h, w)
            negative, positive = output.chunk(2)  # (k, 4, F, h, w) each
            guided = negative + guidance * (positive - negative)
            if guidance_rescale > 0:
                guided = rescale_noise_cfg(guided, positive, guidance_rescale=guidance_rescale)
            outputs.append(guided)
    return torch.cat(outputs).to(windows.device)  # (n, 4, F, h, w)


# ----------------------------------------------------------------------------- the denoising loop


def denoise_video(latents: "torch.Tensor", *, unet, scheduler, text_states: "torch.Tensor", window: int, overlap: int,
                  steps: int, strength: float, guidance: float, mode: str, generator: "torch.Generator",
                  guidance_rescale: float = 0.0, windows_per_call: int = WINDOWS_PER_CALL,
                  stop=None, on_step: Callable[[int, int], None] | None = None) -> "torch.Tensor":
    """SDEdit of clean latents (1, 4, T, h, w) in overlapping windows; returns (1, 4, T, h, w) float32.

    Random draws, all from `generator` (CPU): the noise first (one (1, 4, T, h, w) tensor, or one per
    window in naive mode), then one cut per overlap per step (randomized mode).
    """
    import torch

    if mode not in REFINE_MODES:
        raise StudioError(f"refine mode {mode!r} must be one of {', '.join(REFINE_MODES)}")
    num_frames = latents.shape[2]
    check_window(num_frames, window, overlap)
    ranges = window_ranges(num_frames, window, overlap)
    timesteps = sdedit_timesteps(scheduler, steps, strength)
    start = timesteps[:1]
    latents = latents.float()
    logger.info("refine: %d frames in %d windows of %d, mode %s, SDEdit from t=%d, %d steps",
                num_frames, len(ranges), ranges[0][1] - ranges[0][0], mode, int(start), len(timesteps))

    # 1. Noise to the start step: one shared tensor sliced by every window, or each window its own.
    if mode == "naive":
        clean = window_slices(latents, ranges)  # (n, 4, F, h, w)
        noise = torch.randn(clean.shape, generator=generator).to(latents.device)
        sample = scheduler.add_noise(clean, noise, start)  # (n, 4, F, h, w)
    else:
        noise = torch.randn(latents.shape, generator=generator).to(latents.device)  # (1, 4, T, h, w)
        sample = scheduler.add_noise(latents, noise, start)  # (1, 4, T, h, w)

    # 2. Denoise: every window at every step, merged frame by frame unless naive.
    for index, timestep in enumerate(timesteps):
        if stop is not None and stop.is_set():
            raise StoppedError("refine stopped; the draft and project.json are unchanged")
        windows = sample if mode == "naive" else window_slices(sample, ranges)  # (n, 4, F, h, w)
        output = predict_windows(unet, windows, timestep, text_states, guidance, guidance_rescale,
                                 windows_per_call)  # (n, 4, F, h, w)
        if mode != "naive":
            sources = blend_sources(num_frames, window, overlap, generator) if mode == "randomized" \
                else fixed_sources(num_frames, window, overlap)
            output = merge_windows(output, ranges, sources)  # (1, 4, T, h, w)
        sample = scheduler.step(output, timestep, sample).prev_sample
        if on_step is not None:
            on_step(index + 1, len(timesteps))

    # 3. Naive: concatenate the independent windows (cut in the middle of each overlap).
    if mode == "naive":
        sample = merge_windows(sample, ranges, fixed_sources(num_frames, window, overlap))  # (1, 4, T, h, w)
    return sample


# ----------------------------------------------------------------------------- the pass over pixels


def sdedit_frames(preset: Preset, pixels: np.ndarray, prompt: str, *, strength: float, seed: int, mode: str,
                  stop=None, report: Progress | None = None) -> np.ndarray:
    """Encode, denoise in the preset's refine windows, decode: (T, H, W, 3) uint8 -> (T, H, W, 3) uint8.

    Every random draw comes from one CPU generator seeded with `seed`, so the same call gives the same
    frames. A stop raises StoppedError between steps. An LTX-Video preset runs its own second pass
    (studio.generate.ltx.refine) at the same size.
    """
    if preset.models.family == "ltx":
        from studio.generate.ltx.refine import ltx_refine_frames

        return ltx_refine_frames(preset, pixels, prompt, strength=strength, seed=seed, mode=mode, upscale=False,
                                 stop=stop, report=report)
    import torch
    from diffusers import DDIMScheduler

    from studio.models.cache import get_component, onto_device
    from studio.models.diffusion import encode_prompts, frames_to_latents, latents_to_frames, vae_scale_factor

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
