"""Which model, solver, steps and guidance make a chunk: the official first stage for a text-started chunk 0.

The official StreamingT2V (SPEC §1) makes a text-started video's first 16 frames with the untouched
public ModelScope text-to-video pipeline — its own UNet3D, DPMSolverMultistepScheduler from the base
model's scheduler config, 50 steps, guidance 9.0 — and only the chunks after it with the fine-tuned
base plus CAM and APM (DDIM, eta 1.0, 50 steps, guidance 7.5). The reason is the fine-tuned base: its
spatial layers were trained with the APM's image tokens beside the text and never ran text-only, so
without a context and an anchor it is outside what it learned. The public UNet is what made the
anchor frame in the first place.

A scene started from its scene image is not text-started: its chunk 0 has a context (the image
repeated) and an anchor, and the streaming model makes it, as every later chunk.

`first_chunk.unet: streaming` restores the old behaviour (the streaming model text-only for chunk 0).
Both UNets share the VAE and the text encoder (one copy of each in the model cache).
"""

from __future__ import annotations

from dataclasses import dataclass

from studio.config import Preset


@dataclass(frozen=True)
class ChunkRecipe:
    """What makes one chunk. `base_unet`: the public ModelScope UNet (no CAM, no APM) rather than the streaming model."""

    base_unet: bool
    scheduler: str
    steps: int
    guidance: float


def chunk_recipe(preset: Preset, text_started: bool) -> ChunkRecipe:
    """The preset's recipe for a chunk; `text_started`: chunk 0 of a scene with no scene image (no context)."""
    first, s = preset.first_chunk, preset.streaming
    if text_started and first.unet == "base":
        return ChunkRecipe(base_unet=True, scheduler=first.scheduler, steps=first.steps, guidance=first.guidance)
    return ChunkRecipe(base_unet=False, scheduler=s.scheduler, steps=s.steps, guidance=s.guidance)


class BaseUNetDenoiser:
    """The public UNet3D behind the streaming model's call signature, text only.

    It is called exactly as diffusers' TextToVideoSDPipeline calls it; its attention processors are
    diffusers' own (the streaming model's APM processors live on the other UNet object).
    """

    def __init__(self, unet):
        self.unet = unet

    def __call__(self, sample, timestep, text_states, image_tokens=None, cond_frames=None):
        """sample (B, C, F, h, w), text_states (B, T, D) -> noise (B, C, F, h, w)."""
        if image_tokens is not None or cond_frames is not None:
            raise ValueError("the public ModelScope UNet takes text only: no APM tokens, no CAM frames")
        return self.unet(sample, timestep, encoder_hidden_states=text_states).sample  # (B, C, F, h, w)


def base_unet_denoiser(preset: Preset) -> BaseUNetDenoiser:
    """The first-chunk UNet of this preset (loaded on first use, then cached), ready to call."""
    from studio.models.cache import get_component, onto_device

    unet = get_component(preset, "first_chunk_unet")
    onto_device(preset, unet)
    return BaseUNetDenoiser(unet)
