"""The sampler: our own denoising loop for one chunk (diffusers' TextToVideoSDPipeline is frozen).

    pipe = StreamingPipeline(preset)           # models come from studio.models.cache (cached, lazy)
    frames = pipe.make_chunk(prompt, context_frames, anchor, seed)   # (T, H, W, 3) uint8

`make_chunk` works from plain arrays, with no project folder: the benchmark calls it directly.
- context_frames: None (chunk 0 from text alone) or (Fc, H, W, 3) uint8, the last Fc frames of the
  video so far (or the scene image repeated Fc times for an image-started chunk 0).
- anchor: None (no APM: text only) or (H, W, 3) uint8, the scene's anchor image.

Which model makes the chunk (first_chunk.py): a text-started chunk 0 comes from the untouched public
ModelScope UNet with the preset's `first_chunk` section (official: DPM-Solver multistep, 50 steps,
guidance 9.0), as in the official code, because the fine-tuned streaming base never ran without image
tokens; every other chunk (and an image-started chunk 0) from the streaming model with CAM and APM
(official: DDIM, eta 1.0, 50 steps, guidance 7.5).
- returns the frames the chunk adds: frames Fc..F-1 when it continues a video, all F frames with
  `keep_context=True` (chunk 0).

Performance: classifier-free guidance is one batched forward (CAM included); timesteps are moved to
the device once, so the step loop has no host syncs; the dtype comes from the preset; VAE decoding
is sliced by frames. With `streaming.reuse_chunk_work` (step_cache.py) what is the same at every step
(per-frame context, APM mixing, cross-attention keys and values, the CAM's frame encoding) is done
once per chunk, and only the frames the chunk keeps are decoded.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

import numpy as np

from studio.config import Preset
from studio.errors import StoppedError, StudioError
from studio.generate.step_cache import reuse_across_steps
from studio.generate.timing import timed

logger = logging.getLogger(__name__)


def make_scheduler(name: str, base_scheduler) -> Any:
    """A fresh scheduler (they carry per-run state) of kind `name` from the base model's config."""
    import diffusers

    config = base_scheduler.config
    if name == "dpm-solver-multistep":  # the official first stage: diffusers' defaults on the base config
        return diffusers.DPMSolverMultistepScheduler.from_config(config)
    if name == "ddim":
        return diffusers.DDIMScheduler.from_config(config)
    if name == "dpm-solver++":
        return diffusers.DPMSolverMultistepScheduler.from_config(config, algorithm_type="dpmsolver++", solver_order=2)
    if name == "unipc":
        return diffusers.UniPCMultistepScheduler.from_config(config)
    raise StudioError(f"scheduler {name!r} must be dpm-solver-multistep, ddim, dpm-solver++ or unipc")


def build_streaming_model(preset: Preset):
    """The StreamingModel of this preset, built once (cached): the base UNet with CAM and APM.

    For the `hub` backend the CAM/APM weights come from the released checkpoint (checkpoint.py).
    """
    from studio.models.cache import cached, get_component

    def build():
        from studio.generate.model import StreamingModel
        from studio.models.diffusion import vae_scale_factor

        unet = get_component(preset, "video_unet")
        vae = get_component(preset, "vae")
        scale = vae_scale_factor(vae)
        tokenizer = get_component(preset, "tokenizer")
        model = StreamingModel.build(unet, get_component(preset, "image_encoder"), scale,
                                     image_tokens=preset.streaming.apm_tokens, text_tokens=tokenizer.model_max_length)
        if preset.models.backend == "hub":
            from studio.generate.checkpoint import load_released_weights

            load_released_weights(model, preset)
        elif preset.models.backend == "tiny":  # so that the memory acts in every tiny test
            from studio.models.tiny_release import load_synthetic_release

            load_synthetic_release(model)
        return model.eval().requires_grad_(False)

    return cached(preset, "streaming_model", build)


class StreamingPipeline:
    """One chunk from tensors: text encoding, APM tokens, CAM frames, the denoising loop, VAE decoding."""

    def __init__(self, preset: Preset):
        from studio.models.cache import device_for, dtype_for, get_component
        from studio.models.diffusion import vae_scale_factor

        self.preset = preset
        self.device = device_for(preset)
        self.dtype = dtype_for(preset)
        self.model = build_streaming_model(preset)
        self.vae = get_component(preset, "vae")
        self.tokenizer = get_component(preset, "tokenizer")
        self.text_encoder = get_component(preset, "text_encoder")
        self.base_scheduler = get_component(preset, "scheduler")
        self.image_encoder = get_component(preset, "image_encoder")
        self.image_processor = get_component(preset, "image_processor")
        self.vae_scale = vae_scale_factor(self.vae)

    # ------------------------------------------------------------------ conditioning

    def encode_text(self, prompts: list[str]):
        from studio.models.cache import onto_device
        from studio.models.diffusion import encode_prompts

        onto_device(self.preset, self.text_encoder)
        return encode_prompts(self.tokenizer, self.text_encoder, prompts).to(self.device, self.dtype)  # (B, T, D)

    def frames_to_tensor(self, frames: np.ndarray):
        """(N, H, W, 3) uint8 -> (1, N, 3, H, W) in [-1, 1] on the device."""
        import torch

        tensor = torch.from_numpy(np.ascontiguousarray(frames)).to(self.device)
        return (tensor.permute(0, 3, 1, 2).to(self.dtype) / 127.5 - 1.0)[None]

    def apm_tokens(self, anchor: np.ndarray):
        """(H, W, 3) uint8 -> (2, k, D): [grey (unconditional), anchor (conditional)]."""
        import torch

        from studio.generate.apm import anchor_tokens
        from studio.models.cache import onto_device

        onto_device(self.preset, self.image_encoder, self.model.resampler)  # one call: both run, one after the other
        image = self.frames_to_tensor(anchor[None])[0]  # (1, 3, H, W)
        both = torch.cat([torch.zeros_like(image), image])  # mid-grey for the unconditional branch (SPEC)
        return anchor_tokens(both, self.image_encoder, self.image_processor, self.model.resampler).to(self.dtype)

    def check_inputs(self, context_frames: np.ndarray | None, anchor: np.ndarray | None) -> None:
        s = self.preset.streaming
        size = (s.height, s.width, 3)
        if context_frames is not None and (context_frames.ndim != 4 or context_frames.shape != (s.context_frames, *size)
                                           or context_frames.dtype != np.uint8):
            raise StudioError(f"context frames must be uint8 of shape {(s.context_frames, *size)}, "
                              f"got {context_frames.dtype} {context_frames.shape}")
        if anchor is not None and (anchor.shape != size or anchor.dtype != np.uint8):
            raise StudioError(f"anchor must be uint8 of shape {size}, got {anchor.dtype} {anchor.shape}")

    # ------------------------------------------------------------------ the chunk

    def make_chunk(self, prompt: str, context_frames: np.ndarray | None, anchor: np.ndarray | None, seed: int,
                   stop=None, *, keep_context: bool = False, steps: int | None = None,
                   guidance: float | None = None, negative_prompt: str | None = None) -> np.ndarray:
        """Make one chunk; returns the frames it adds, (T, H, W, 3) uint8. Raises StoppedError on `stop`.

        `steps` and `guidance` override those of the model that makes the chunk (the `first_chunk`
        section's for a text-started chunk 0 on the public UNet, else the `streaming` section's).
        """
        import torch

        from studio.generate.first_chunk import base_unet_denoiser, chunk_recipe
        from studio.models.cache import onto_device

        s = self.preset.streaming
        recipe = chunk_recipe(self.preset, text_started=context_frames is None)
        steps = recipe.steps if steps is None else steps
        guidance = recipe.guidance if guidance is None else guidance
        negative_prompt = s.negative_prompt if negative_prompt is None else negative_prompt
        if steps < 1:
            raise StudioError(f"steps {steps} must be at least 1")
        self.check_inputs(context_frames, anchor)
        from studio.models.memory import enter_stage

        enter_stage(self.preset, "first_chunk" if recipe.base_unet else "generate")
        if recipe.base_unet and anchor is not None:
            raise StudioError("an anchor without context frames: a text-started chunk 0 is made by the public ModelScope "
                              "UNet, which takes no anchor; pass the anchor repeated as context frames too (an "
                              "image-started chunk 0), or set first_chunk.unet: streaming")
        use_cam = context_frames is not None and s.use_cam
        use_apm = anchor is not None and s.use_apm
        from studio.models.hub import running

        model_name, repo = (("first_chunk_unet", self.preset.models.base_video) if recipe.base_unet
                            else ("streaming_model", self.preset.models.streaming_checkpoint))
        with torch.inference_mode(), running(self.preset, model_name, repo):  # out of GPU memory: one line
            # 1. Conditioning, batched [unconditional, conditional] for guidance.
            with timed("text"):
                text = self.encode_text([negative_prompt, prompt])  # (2, T, D)
            with timed("apm"):
                image_tokens = self.apm_tokens(anchor) if use_apm else None  # (2, k, D)
            cond = self.frames_to_tensor(context_frames).expand(2, -1, -1, -1, -1) if use_cam else None  # (2, Fc, 3, H, W)
            # 2. Initial noise from the chunk's own seed (a CPU generator: identical on every device).
            generator = torch.Generator("cpu").manual_seed(int(seed))
            shape = (1, self.model.unet.config.in_channels, s.frames_per_chunk, s.height // self.vae_scale, s.width // self.vae_scale)
            scheduler = make_scheduler(recipe.scheduler, self.base_scheduler)
            scheduler.set_timesteps(steps)
            latents = torch.randn(shape, generator=generator, dtype=torch.float32).to(self.device, self.dtype)
            latents = latents * scheduler.init_noise_sigma  # (1, C, F, h, w)
            timesteps_device = scheduler.timesteps.to(self.device)  # one copy, no per-step host->device sync
            step_kwargs = self._step_kwargs(scheduler, generator)
            if recipe.base_unet:
                denoiser = base_unet_denoiser(self.preset)  # the public UNet, text only
            else:
                onto_device(self.preset, self.model)
                denoiser = self.denoiser()
            # 3. Denoising loop; what depends on the conditioning alone is computed at the first step.
            with reuse_across_steps(s.reuse_chunk_work):
                for i, t in enumerate(scheduler.timesteps):
                    if stop is not None and stop.is_set():
                        raise StoppedError("stopped between denoising steps; finished chunks are kept")
                    model_in = scheduler.scale_model_input(torch.cat([latents, latents]), t)  # (2, C, F, h, w)
                    with timed("unet"):
                        uncond, cond_pred = self._predict(denoiser, model_in, timesteps_device[i], text, image_tokens, cond)
                    noise = uncond + guidance * (cond_pred - uncond)  # (1, C, F, h, w)
                    latents = scheduler.step(noise, t, latents, **step_kwargs).prev_sample
            # 4. Decode the new frames (the VAE decodes frame by frame, so dropping the context first is exact).
            drop = 0 if keep_context else s.context_frames
            with timed("vae"):
                if s.reuse_chunk_work:
                    return self.decode(latents[:, :, drop:])  # (F - drop, H, W, 3) uint8
                return self.decode(latents)[drop:]

    def _predict(self, denoiser, model_in, timestep, text, image_tokens, cond):
        """Noise predictions (unconditional, conditional): one batch-2 forward, or two forwards when
        `streaming.batched_guidance` is off (the naive baseline the benchmark compares against)."""
        if self.preset.streaming.batched_guidance:
            return denoiser(model_in, timestep, text, image_tokens, cond).chunk(2)  # 2 x (1, C, F, h, w)

        def half(tensor, i):
            return None if tensor is None else tensor[i:i + 1]

        return tuple(denoiser(half(model_in, i), timestep, half(text, i), half(image_tokens, i), half(cond, i))
                     for i in (0, 1))

    def denoiser(self):
        """The model to call each step: the StreamingModel, compiled once per model when `streaming.compile` is on."""
        if not self.preset.streaming.compile:
            return self.model
        import torch

        from studio.models.cache import cached

        # Shapes are fixed per preset, so one static graph; CUDA graphs remove the per-kernel launch cost.
        s = self.preset.streaming
        return cached(self.preset, f"streaming_model_compiled_{s.compile_backend}",
                      lambda: torch.compile(self.model, backend=s.compile_backend, dynamic=False,
                                            mode=("reduce-overhead" if self.device.type == "cuda" else "default")
                                            if s.compile_backend == "inductor" else None))

    def _step_kwargs(self, scheduler, generator) -> dict:
        """eta for DDIM (official: 1.0); a device generator where the scheduler draws noise."""
        import torch

        params = inspect.signature(scheduler.step).parameters
        kwargs: dict[str, Any] = {"return_dict": True}
        if "eta" in params:
            kwargs["eta"] = self.preset.streaming.eta
        if "generator" in params:
            # Per-step noise on the device; seeded from the chunk's CPU generator, so it is reproducible.
            device_generator = torch.Generator(self.device).manual_seed(int(torch.randint(0, 2**62, (1,), generator=generator)))
            kwargs["generator"] = device_generator
        return kwargs

    def decode(self, latents) -> np.ndarray:
        """(1, C, F, h, w) latents -> (F, H, W, 3) uint8, a few frames at a time."""
        from studio.models.cache import onto_device
        from studio.models.diffusion import VAE_FRAMES_PER_CALL, latents_to_frames

        onto_device(self.preset, self.vae)
        return latents_to_frames(self.vae, latents, frames_per_call=VAE_FRAMES_PER_CALL if self.preset.streaming.vae_slicing else None)
