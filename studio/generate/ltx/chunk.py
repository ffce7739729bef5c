"""One LTX-Video chunk from the studio's memories: the previous frames (short term) and the anchor (long term).

- Short-term memory: chunk k > 0 is one clip of `streaming.frames_per_chunk` frames whose first
  `streaming.context_frames` frames are conditioned on the last frames of the chunks before it
  (LTXVideoCondition(video=those frames, frame_index=0, strength=ltx.condition_strength)); the chunk keeps
  the frames after them, so it adds frames_per_chunk - context_frames frames and continues the motion.
- Image-to-video: chunk 0 of a scene with a scene image is conditioned on that image as frame 0
  (ltx.image_strength) and keeps all its frames; without one it starts from text alone.
- Long-term memory: the new latent frames of chunk k > 0 are pulled a factor ltx.adain_factor of the way
  to the anchor's per-channel latent statistics (AdaIN, as LTXI2VLongMultiPromptPipeline does towards its
  first window). The anchor is the scene image, else frame 0 of chunk 0 (what the stage hands every
  backend). Why AdaIN rather than the anchor as a second, low-strength image condition: a keyframe
  condition pins content (pose, position) at its frame and fights the continuation, while the drift
  creators complain of across windows is colour and exposure, which is what channel statistics carry.

Every random draw comes from one CPU generator seeded with the chunk's seed: the same seed, prompt and
memories give the same frames, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from studio.config import Preset
from studio.errors import StudioError
from studio.generate.ltx.sampler import LtxModels, adain
from studio.generate.ltx.shapes import is_clip_length, latent_frames

if TYPE_CHECKING:
    import torch


@dataclass
class ChunkLatents:
    latents: "torch.Tensor"  # (1, C, F, h, w) normalised, after denoising (and AdaIN)
    condition: "torch.Tensor | None"  # (1, C, n, h, w) the encoded condition put at latent frame 0
    keep_from: int  # first pixel frame the chunk keeps (0 for chunk 0)


def chunk_latents(preset: Preset, prompt: str, context: np.ndarray | None, anchor: np.ndarray | None, seed: int,
                  stop=None, *, keep_context: bool) -> tuple[LtxModels, ChunkLatents, "torch.Generator"]:
    """The chunk's latents; `keep_context` marks chunk 0, whose `context` (if any) is the scene image repeated."""
    import torch
    from diffusers.pipelines.ltx.pipeline_ltx_condition import linear_quadratic_schedule

    s, ltx = preset.streaming, preset.ltx
    models = LtxModels(preset)
    generator = torch.Generator().manual_seed(int(seed))
    if keep_context:
        frames = context[-1:] if context is not None else None  # the scene image as frame 0
        strength, keep_from = ltx.image_strength, 0
    else:
        if context is None or not is_clip_length(len(context)):
            raise StudioError(f"an LTX-Video chunk after the first needs 8k + 1 previous frames, got "
                              f"{0 if context is None else len(context)}; check streaming.context_frames")
        frames, strength, keep_from = context, ltx.condition_strength, len(context)
    condition = models.encode(frames) if frames is not None else None  # (1, C, n, h, w)
    height, width = s.height // 32, s.width // 32
    count = latent_frames(s.frames_per_chunk)
    channels = models.transformer.config.in_channels
    noise = torch.randn((1, channels, count, height, width), generator=generator).to(models.device)
    sample, frame_strength = noise, torch.zeros(count)
    if condition is not None:
        n = condition.shape[2]
        sample = noise.clone()
        sample[:, :, :n] = torch.lerp(noise[:, :, :n], condition.to(noise.device), strength)
        frame_strength[:n] = strength
    sigmas = list(ltx.sigmas) or linear_quadratic_schedule(s.steps).tolist()
    states, mask = models.text(prompt, s.guidance)
    latents = models.denoise(sample, sigmas, states, mask, guidance=s.guidance, frame_strength=frame_strength,
                             generator=generator, stop=stop)
    if not keep_context and anchor is not None and ltx.adain_factor > 0:
        n = condition.shape[2]
        reference = models.encode(anchor[None])  # (1, C, 1, h, w)
        latents = torch.cat([latents[:, :, :n], adain(latents[:, :, n:], reference.to(latents.device), ltx.adain_factor)], dim=2)
    return models, ChunkLatents(latents, condition, keep_from), generator


def make_ltx_chunk(preset: Preset, prompt: str, context: np.ndarray | None, anchor: np.ndarray | None, seed: int,
                   stop=None, *, keep_context: bool) -> np.ndarray:
    """The frames the chunk adds: (frames_per_chunk, H, W, 3) for chunk 0, else frames_per_chunk - context_frames."""
    models, result, generator = chunk_latents(preset, prompt, context, anchor, seed, stop, keep_context=keep_context)
    frames = models.decode(result.latents, generator)  # (frames_per_chunk, H, W, 3)
    return frames[result.keep_from:]
