"""Our denoising loop over LTX-Video's parts: one chunk, or a long video in blended windows.

Facts taken from diffusers' LTXConditionPipeline (0.42): latents are (B, 128, F, H/32, W/32), normalised
per channel with the VAE's latents_mean/std; the transformer takes them packed frame-major as tokens with
their pixel-space coordinates (time in seconds) and predicts the flow velocity v = noise - x0, so a step
from noise level s to s' is x + (s' - s) v. A condition at frame 0 replaces the first latent frames by
lerp(noise, condition, strength); those tokens see the timestep min(t, 1 - strength) and move only once
the noise level has fallen below 1 - strength, so at strength 1 they are never changed.

The windowed loop is the paper's randomized blending on this model: every window is denoised from one
shared noise tensor and, at every step, each overlap takes its velocity from the left window up to a
fresh random cut and from the right one after it (studio.models.blending); the solver then steps once
over the whole video.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from studio.config import REFINE_MODES, Preset
from studio.errors import StoppedError, StudioError
from studio.generate.ltx.components import get_part

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)


@dataclass
class Condition:
    """Clean latents (1, C, n, h, w) put at latent frame 0 with `strength` (LTXVideoCondition at frame_index 0)."""

    latents: "torch.Tensor"
    strength: float


class LtxModels:
    """The preset's LTX parts and the operations every LTX stage shares: text, encode, denoise, decode."""

    def __init__(self, preset: Preset):
        self.preset = preset
        self.tokenizer = get_part(preset, "tokenizer")
        self.text_encoder = get_part(preset, "text_encoder")
        self.transformer = get_part(preset, "transformer")
        self.vae = get_part(preset, "vae")
        self.device = self.transformer.device
        self.dtype = self.transformer.dtype

    # ------------------------------------------------------------------ text

    def text(self, prompt: str, guidance: float) -> tuple["torch.Tensor", "torch.Tensor"]:
        """T5 states (B, L, D) and mask (B, L): [negative, prompt] under guidance > 1, else [prompt]."""
        import torch

        from studio.models.cache import onto_device

        prompts = [self.preset.streaming.negative_prompt, prompt] if guidance > 1.0 else [prompt]
        tokens = self.tokenizer(prompts, padding="max_length", max_length=self.preset.ltx.max_sequence_length,
                                truncation=True, add_special_tokens=True, return_tensors="pt")
        encoder = onto_device(self.preset, self.text_encoder)
        with torch.no_grad():
            states = encoder(tokens.input_ids.to(encoder.device))[0]
        return states.to(self.device, self.dtype), tokens.attention_mask.to(self.device)

    # ------------------------------------------------------------------ pixels <-> latents

    def encode(self, frames: np.ndarray) -> "torch.Tensor":
        """(T, H, W, 3) uint8, T = 8k + 1 -> normalised latents (1, C, k + 1, H/32, W/32) float32 (the mode, no sampling)."""
        import torch

        from studio.models.cache import onto_device

        vae = onto_device(self.preset, self.vae)
        pixels = torch.from_numpy(np.ascontiguousarray(frames)).permute(3, 0, 1, 2)[None]  # (1, 3, T, H, W)
        pixels = pixels.to(vae.device, vae.dtype) / 127.5 - 1.0
        with torch.no_grad():
            latents = vae.encode(pixels).latent_dist.mode().float()
        mean, std = _channel_stats(vae, latents)
        return (latents - mean) / std

    def decode(self, latents: "torch.Tensor", generator: "torch.Generator") -> np.ndarray:
        """Normalised latents (1, C, F, h, w) -> (8(F-1)+1, H, W, 3) uint8."""
        import torch

        from studio.models.cache import onto_device

        vae = onto_device(self.preset, self.vae)
        mean, std = _channel_stats(vae, latents)
        latents = (latents.float() * std + mean)
        timestep = None
        if vae.config.timestep_conditioning:  # 0.9.5+ VAEs decode from a little noise (the pipeline's default)
            ltx = self.preset.ltx
            noise = torch.randn(latents.shape, generator=generator).to(latents.device)
            latents = (1 - ltx.decode_noise_scale) * latents + ltx.decode_noise_scale * noise
            timestep = torch.tensor([ltx.decode_timestep], device=vae.device, dtype=vae.dtype)
        with torch.no_grad():
            video = vae.decode(latents.to(vae.device, vae.dtype), timestep, return_dict=False)[0]  # (1, 3, T, H, W)
        video = ((video[0].float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        return video.permute(1, 2, 3, 0).cpu().numpy()  # (T, H, W, 3)

    # ------------------------------------------------------------------ denoising

    def denoise(self, sample: "torch.Tensor", sigmas: list[float], states: "torch.Tensor", mask: "torch.Tensor", *,
                guidance: float, frame_strength: "torch.Tensor | None" = None, window: int | None = None,
                overlap: int = 0, mode: str = "randomized", generator: "torch.Generator | None" = None, stop=None,
                video_frames: int | None = None, on_step: Callable[[int, int], None] | None = None) -> "torch.Tensor":
        """Run `sample` (1, C, F, h, w), at noise level sigmas[0], down through `sigmas` to 0.

        frame_strength (F,): the condition strength of each latent frame (0 = free). With `window` (latent
        frames) shorter than F the video is denoised in overlapping windows merged at every step (`mode`).
        In naive mode `sample` is (n_windows, C, window, h, w), independent windows of a video of `video_frames`
        latent frames, concatenated at the end.
        """
        import torch

        from studio.models.blending import blend_sources, fixed_sources, merge_windows, window_ranges, window_slices

        if mode not in REFINE_MODES:
            raise StudioError(f"refine mode {mode!r} must be one of {', '.join(REFINE_MODES)}")
        naive = mode == "naive"
        frames = video_frames if naive else sample.shape[2]
        ranges = [(0, frames)] if window is None else window_ranges(frames, window, overlap)
        total = ranges[-1][1]
        strength = torch.zeros(total) if frame_strength is None else frame_strength.float().cpu()
        coords = self._coords(total, sample.shape[3], sample.shape[4])  # (1, 3, S_total)
        schedule = [float(s) for s in sigmas] + [0.0]
        for index, (sigma, following) in enumerate(zip(schedule, schedule[1:])):
            if stop is not None and stop.is_set():
                raise StoppedError("stopped; finished chunks are kept")
            windows = sample if naive or len(ranges) == 1 else window_slices(sample, ranges)  # (n, C, w, h, w)
            velocity = torch.cat([
                self._velocity(windows[i:i + 1], sigma, strength[start:end], coords, (start, end), states, mask, guidance)
                for i, (start, end) in enumerate(ranges)])  # (n, C, w, h, w)
            if not naive and len(ranges) > 1:
                sources = blend_sources(total, window, overlap, generator) if mode == "randomized" \
                    else fixed_sources(total, window, overlap)
                velocity = merge_windows(velocity, ranges, sources)  # (1, C, F, h, w)
            moves = (sigma - 1e-6 < 1.0 - strength)  # (F,): conditioned frames wait until the noise is below 1 - strength
            if naive:
                moves = torch.stack([moves[start:end] for start, end in ranges])  # (n, w)
                moves = moves[:, None, :, None, None]
            else:
                moves = moves[None, None, :, None, None]
            sample = torch.where(moves.to(sample.device), sample + (following - sigma) * velocity, sample)
            if on_step is not None:
                on_step(index + 1, len(schedule) - 1)
        if naive and len(ranges) > 1:
            sample = merge_windows(sample, ranges, fixed_sources(total, window, overlap))
        return sample

    def _velocity(self, latents, sigma, strength, coords, span, states, mask, guidance) -> "torch.Tensor":
        """Guided velocity of one window (1, C, w, h, w) at noise level `sigma`."""
        import torch
        from diffusers import LTXConditionPipeline

        _, _, count, height, width = latents.shape
        tokens = LTXConditionPipeline._pack_latents(latents, 1, 1)  # (1, S, C), frame-major
        per_frame = torch.minimum(torch.full_like(strength, sigma), 1.0 - strength) * 1000.0  # (w,)
        timestep = per_frame.repeat_interleave(height * width)[None]  # (1, S)
        frame_tokens = height * width
        window_coords = coords[:, :, span[0] * frame_tokens:span[1] * frame_tokens]  # absolute positions in the video
        batch = states.shape[0]
        with torch.no_grad():
            output = self.transformer(
                hidden_states=tokens.repeat(batch, 1, 1).to(self.device, self.dtype),
                encoder_hidden_states=states, timestep=timestep.repeat(batch, 1).to(self.device),
                encoder_attention_mask=mask, video_coords=window_coords.repeat(batch, 1, 1).to(self.device),
                return_dict=False)[0].float()  # (B, S, C)
        if batch == 2:
            negative, positive = output.chunk(2)
            output = negative + guidance * (positive - negative)
        return LTXConditionPipeline._unpack_latents(output, count, height, width, 1, 1).to(latents.device)

    def _coords(self, frames: int, height: int, width: int) -> "torch.Tensor":
        """Pixel-space (t in seconds, y, x) of every latent token of a clip: (1, 3, frames * height * width)."""
        from diffusers import LTXConditionPipeline

        from studio.generate.ltx.shapes import SPATIAL_RATIO, TEMPORAL_RATIO

        ids = LTXConditionPipeline._prepare_video_ids(1, frames, height, width, patch_size=1, patch_size_t=1)
        coords = LTXConditionPipeline._scale_video_ids(ids, SPATIAL_RATIO, TEMPORAL_RATIO, frame_index=0).float()
        coords[:, 0] = coords[:, 0] / float(self.preset.streaming.fps)
        return coords


def _channel_stats(vae, latents) -> tuple["torch.Tensor", "torch.Tensor"]:
    mean = vae.latents_mean.view(1, -1, 1, 1, 1).to(latents.device, latents.dtype)
    std = vae.latents_std.view(1, -1, 1, 1, 1).to(latents.device, latents.dtype)
    return mean, std


def adain(latents: "torch.Tensor", reference: "torch.Tensor", factor: float) -> "torch.Tensor":
    """Move each channel's mean and spread over (frames, h, w) a `factor` of the way to `reference`'s."""
    if factor <= 0:
        return latents
    dims = (2, 3, 4)
    mean, std = latents.mean(dims, keepdim=True), latents.std(dims, keepdim=True, unbiased=False)
    ref_mean, ref_std = reference.mean(dims, keepdim=True), reference.std(dims, keepdim=True, unbiased=False)
    target_mean = (1 - factor) * mean + factor * ref_mean
    target_std = ((1 - factor) * std + factor * ref_std).clamp(min=1e-6)
    return (latents - mean) / (std + 1e-6) * target_std + target_mean
