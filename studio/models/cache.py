"""One lazy, lock-guarded model cache for every stage.

`get_component(preset, name)` returns a model, built on first use and then shared by every session
and every stage (the only thing sessions share). For the `tiny` backend each component is built in
code with random weights (studio.models.tiny); for `hub` it is loaded with `from_pretrained` from the
preset's model ids. When the Hub cannot be reached the error is one sentence naming the model id and
the presets that work offline.

Stages that need their own modules (CAM, APM, IP-Adapter) register builders with `cached()`.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from studio.config import Preset
from studio.errors import ModelUnavailableError, StudioError

logger = logging.getLogger(__name__)

_cache: dict[tuple[str, str], Any] = {}
_lock = threading.RLock()  # re-entrant: a builder may ask for another component

COMPONENTS = (
    "tokenizer", "text_encoder", "video_unet", "first_chunk_unet", "vae", "scheduler", "image_encoder", "image_processor",
    "refiner_unet", "text_to_image", "llm", "clip",
)


def preset_key(preset: Preset) -> str:
    """Presets with the same backend and model ids share models."""
    m = preset.models
    return "|".join((m.backend, m.architecture, m.dtype, str(m.cpu_offload), m.device, m.base_video, m.image_encoder,
                     m.image_encoder_subfolder, m.refiner, m.text_to_image, m.ip_adapter, m.ip_adapter_weight,
                     m.planner_llm, m.clip_metric, repr(sorted((r, e.get("revision"), e.get("variant"))
                                                              for r, e in m.repos.items()))))


def cached(preset: Preset, name: str, builder: Callable[[], Any]) -> Any:
    """Return the cached `name` for this preset, building it with `builder()` once."""
    key = (preset_key(preset), name)
    with _lock:
        if key not in _cache:
            logger.info("building %s for preset %s", name, preset.name)
            _cache[key] = builder()
        return _cache[key]


def clear_cache() -> None:
    with _lock:
        _cache.clear()
        _on_gpu.clear()


_on_gpu: dict[str, list] = {}  # with models.cpu_offload: the models per preset now on the GPU


def onto_device(preset: Preset, module: Any, *together: Any) -> Any:
    """Make `module` (and the modules used `together` with it) ready to run. With `models.cpu_offload` on a
    GPU, models wait on the CPU and only those in use sit on the GPU: this moves them there and the previous
    ones back (model-level offload, as diffusers' enable_model_cpu_offload does). Otherwise it changes nothing.
    Modules that run one after the other on the same input (the APM's image encoder, then its resampler)
    must come in one call: a second call would send the first back to the CPU before it runs."""
    device = device_for(preset)
    if not preset.models.cpu_offload or device.type != "cuda":
        return module
    key = preset_key(preset)
    wanted = [module, *together]
    with _lock:
        for previous in _on_gpu.get(key, ()):
            if not any(previous is m for m in wanted):
                move(previous, "cpu")
        for m in wanted:
            move(m, device)
        _on_gpu[key] = wanted
    return module


def move(module: Any, device: Any) -> Any:
    """The one place models change device (the tests record it)."""
    return module.to(device)


def device_for(preset: Preset) -> "torch.device":  # noqa: F821
    import torch

    wanted = preset.models.device
    if wanted == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if wanted == "cuda" and not torch.cuda.is_available():
        raise StudioError(f"preset {preset.name!r} asks for models.device: cuda but no CUDA GPU is available; use --preset tiny or animatic")
    return torch.device(wanted)


def dtype_for(preset: Preset) -> "torch.dtype":  # noqa: F821
    import torch

    dtype = getattr(torch, preset.models.dtype)
    if device_for(preset).type == "cpu" and dtype == torch.float16:
        return torch.float32  # fp16 kernels are missing or slow on CPU
    return dtype


def get_component(preset: Preset, name: str) -> Any:
    """The model `name` (one of COMPONENTS) for this preset, loaded lazily and cached."""
    if name not in COMPONENTS:
        raise StudioError(f"unknown model component {name!r} (known: {', '.join(COMPONENTS)})")
    backend = preset.models.backend
    if backend == "animatic":
        raise StudioError(f"preset {preset.name!r} uses the animatic renderer and has no {name} model; use --preset tiny or gpu")
    if backend == "tiny":
        builder = _tiny_builder(preset, name)
    elif backend == "random":
        builder = _random_builder(preset, name)
    else:
        builder = _hub_builder(preset, name)
    if name == "refiner_unet":
        builder = _with_feed_forward_chunking(builder, preset.refine.feed_forward_tokens)
    return cached(preset, name, builder)


def _with_feed_forward_chunking(builder: Callable[[], Any], tokens: int) -> Callable[[], Any]:
    """The refiner runs 48 frames of 90x90 latents per call at 720x720: its feed-forward layers in slices."""
    def build() -> Any:
        from studio.models.memory import chunk_feed_forward

        module = builder()
        chunk_feed_forward(module, tokens)
        return module
    return build


def _place(module: Any, preset: Preset) -> Any:
    import torch

    if not hasattr(module, "to"):
        return module
    from studio.gpu import on_zero_gpu

    # With offload, models wait on the CPU (see onto_device); on ZeroGPU too, until a GPU call's stage moves them
    # (studio.models.memory.enter_stage): a model moved at start-up would be moved by every call anyway.
    if not (preset.models.cpu_offload and device_for(preset).type == "cuda") and not on_zero_gpu():
        module = module.to(device_for(preset))
    dtype = dtype_for(preset)
    # Tiny and fp32 models are built in fp32 already; casting them again only logs a warning.
    return module if dtype == torch.float32 else module.to(dtype=dtype)


def _tiny_builder(preset: Preset, name: str) -> Callable[[], Any]:
    from studio.models import tiny

    builders: dict[str, Callable[[], Any]] = {
        "tokenizer": tiny.clip_tokenizer,
        "text_encoder": lambda: _place(tiny.clip_text_encoder(len(get_component(preset, "tokenizer"))), preset),
        "video_unet": lambda: _place(tiny.unet3d(seed_offset=2), preset),
        # The same seed as video_unet: the public weights the streaming model starts from before its release loads.
        "first_chunk_unet": lambda: _place(tiny.unet3d(seed_offset=2), preset),
        "refiner_unet": lambda: _place(tiny.unet3d(seed_offset=12), preset),
        "vae": lambda: _place(tiny.vae(), preset),
        "scheduler": tiny.ddim_scheduler,
        "image_encoder": lambda: _place(tiny.clip_vision(), preset),
        "image_processor": tiny.clip_image_processor,
        "text_to_image": lambda: tiny.text_to_image_pipeline().to(device_for(preset)),
        "llm": tiny.causal_lm,
        "clip": tiny.clip_model,
    }
    return builders[name]


def _random_builder(preset: Preset, name: str) -> Callable[[], Any]:
    """Real-size architectures with random weights: the video stages only (see studio.models.random_weights)."""
    from studio.models import random_weights as rnd
    from studio.models import tiny

    arch = preset.models.architecture

    def real(build: Callable[[str], Any], seed: int) -> Callable[[], Any]:
        return lambda: rnd.materialise(build(arch), device_for(preset), dtype_for(preset), seed=seed)

    builders: dict[str, Callable[[], Any]] = {
        "tokenizer": tiny.clip_tokenizer,  # token ids are all that matter for speed
        "text_encoder": real(rnd.text_encoder, 1),
        "video_unet": real(rnd.unet3d, 2),
        "first_chunk_unet": real(rnd.unet3d, 2),
        "refiner_unet": real(rnd.unet3d, 12),
        "vae": real(rnd.vae, 3),
        "scheduler": tiny.ddim_scheduler,
        "image_encoder": real(rnd.image_encoder, 4),
        "image_processor": rnd.image_processor,
    }
    if name not in builders:
        raise StudioError(f"preset {preset.name!r} (random backend) has no {name} model; it is for `studio bench` only")
    return builders[name]


def _hub_builder(preset: Preset, name: str) -> Callable[[], Any]:
    """How to load component `name` from the Hub; any failure becomes one ModelUnavailableError line that
    names the component, its repository and revision, and what to do (studio.models.hub.explain)."""
    from studio.models.hub import LOAD_ERRORS, explain, hub_loaders

    model_id, subfolder, loader = hub_loaders(preset)[name]

    def build() -> Any:
        try:
            return loader()
        except LOAD_ERRORS as error:
            from studio.offline import NETWORK_FREE_BACKENDS, is_offline

            # An offline preset's hub model (the CLIP of the CLIP score): say so, without advice pointing back here.
            if is_offline() and preset.name in NETWORK_FREE_BACKENDS:
                raise ModelUnavailableError(
                    f"{model_id!r} is not in the Hugging Face cache and the Hub is switched off (offline); "
                    "download it once with network to use it"
                ) from None
            raise explain(error, preset, name, model_id, subfolder) from None
    return build
