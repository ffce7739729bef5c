"""What both diffusion loops (the chunk sampler and the refiner) do the same way.

- vae_scale_factor: how much the VAE shrinks a frame (2 per down block: 8 for the real VAE)
- encode_prompts: CLIP text states of a batch of prompts (truncated to the tokenizer's 77 tokens)
- frames_to_latents / latents_to_frames: uint8 frames <-> scaled VAE latents, a few frames per call
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    import torch

# Frames per VAE call: the VAE works frame by frame, so slicing is exact and bounds the activations.
VAE_FRAMES_PER_CALL = 4


def vae_scale_factor(vae) -> int:
    return 2 ** (len(vae.config.block_out_channels) - 1)


def encode_prompts(tokenizer, text_encoder, prompts: list[str]) -> "torch.Tensor":
    """CLIP text states (B, 77, D) for `prompts`, on the text encoder's device and in its dtype."""
    import torch

    for prompt in prompts:
        note_truncation(tokenizer, prompt)
    ids = tokenizer(prompts, padding="max_length", max_length=tokenizer.model_max_length,
                    truncation=True, return_tensors="pt").input_ids  # (B, 77)
    with torch.no_grad():
        return text_encoder(ids.to(text_encoder.device))[0]  # (B, 77, D)


_NOTED: set[str] = set()  # prompts whose truncation was already reported


def note_truncation(tokenizer, prompt: str) -> str:
    """Say once, in one line, which words of `prompt` CLIP cuts off (its end); returns them ('' when none)."""
    limit = tokenizer.model_max_length
    ids = tokenizer(prompt, verbose=False)["input_ids"]  # verbose=False: no "sequence length > 77" warning
    if len(ids) <= limit:
        return ""
    dropped = tokenizer.decode(ids[limit - 1:-1], skip_special_tokens=True).strip()
    if prompt not in _NOTED:
        _NOTED.add(prompt)
        logger.warning("prompt is %d tokens and CLIP keeps %d: it drops the end, %r (the camera move comes first "
                       "and is kept); shorten the scene text to keep it", len(ids), limit, dropped[:120])
    return dropped


def frames_to_latents(vae, frames: np.ndarray) -> "torch.Tensor":
    """uint8 frames (T, H, W, 3) -> scaled latent means (1, C, T, H/s, W/s) float32 (s = VAE factor).

    The mean of the posterior, not a sample, so encoding adds no randomness of its own.
    """
    import torch

    parts = []
    with torch.no_grad():
        for start in range(0, len(frames), VAE_FRAMES_PER_CALL):
            batch = torch.from_numpy(np.ascontiguousarray(frames[start:start + VAE_FRAMES_PER_CALL])).permute(0, 3, 1, 2)  # (t, 3, H, W)
            pixels = (batch.float() / 127.5 - 1.0).to(vae.device, vae.dtype)
            parts.append(vae.encode(pixels).latent_dist.mode().float())  # (t, C, h, w)
    latents = torch.cat(parts) * vae.config.scaling_factor  # (T, C, h, w)
    return latents.permute(1, 0, 2, 3).unsqueeze(0)  # (1, C, T, h, w)


def latents_to_frames(vae, latents: "torch.Tensor", *, frames_per_call: int | None = VAE_FRAMES_PER_CALL,
                      tiling: bool = False) -> np.ndarray:
    """(1, C, T, h, w) latents -> uint8 frames (T, H, W, 3).

    `frames_per_call` frames per VAE call (None: all at once); in tiles when `tiling` and the frame is
    larger than the VAE's tile (diffusers' tiled_decode blends the tiles).
    """
    import torch

    scale = vae_scale_factor(vae)
    limit = getattr(vae, "tile_sample_min_size", None)
    tiles = bool(tiling and limit and (latents.shape[-2] * scale > limit or latents.shape[-1] * scale > limit))
    per_frame = latents[0].permute(1, 0, 2, 3) / vae.config.scaling_factor  # (T, C, h, w)
    vae_dtype = next(vae.parameters()).dtype
    frames = []
    with torch.no_grad():
        for part in per_frame.split(frames_per_call or per_frame.shape[0]):
            part = part.to(vae.device, vae_dtype)
            pixels = (vae.tiled_decode(part) if tiles else vae.decode(part)).sample  # (t, 3, H, W) in [-1, 1]
            pixels = ((pixels.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
            frames.append(pixels.permute(0, 2, 3, 1).cpu().numpy())  # (t, H, W, 3)
    return np.concatenate(frames)
