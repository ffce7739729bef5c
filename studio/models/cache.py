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
from studio.errors import ModelUnavailableError, StudioError, first_line

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
                     m.refiner, m.text_to_image, m.ip_adapter, m.ip_adapter_weight, m.planner_llm, m.clip_metric))


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


_on_gpu: dict[str, Any] = {}  # with models.cpu_offload: the one model per preset now on the GPU


def onto_device(preset: Preset, module: Any) -> Any:
    """Make `module` ready to run. With `models.cpu_offload` on a GPU, models wait on the CPU and only the
    one in use sits on the GPU: this moves `module` there and the previous one back (model-level
    offload, as diffusers' enable_model_cpu_offload does). Otherwise it changes nothing."""
    device = device_for(preset)
    if not preset.models.cpu_offload or device.type != "cuda":
        return module
    key = preset_key(preset)
    with _lock:
        previous = _on_gpu.get(key)
        if previous is not None and previous is not module:
            previous.to("cpu")
        _on_gpu[key] = module.to(device)
    return module


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
    return cached(preset, name, builder)


def _place(module: Any, preset: Preset) -> Any:
    import torch

    if not hasattr(module, "to"):
        return module
    if not (preset.models.cpu_offload and device_for(preset).type == "cuda"):
        module = module.to(device_for(preset))  # with offload, models wait on the CPU (see onto_device)
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
    """How to load component `name` from the Hub; any failure becomes one ModelUnavailableError line."""
    model_id, loader = _hub_loaders(preset)[name]

    def build() -> Any:
        try:
            return loader()
        except (OSError, ValueError, ImportError) as error:
            from studio.offline import NETWORK_FREE_BACKENDS, is_offline

            # An offline preset's hub model (the CLIP of the CLIP score): say so, without advice pointing back here.
            if is_offline() and preset.name in NETWORK_FREE_BACKENDS:
                raise ModelUnavailableError(
                    f"{model_id!r} is not in the Hugging Face cache and the Hub is switched off (offline); "
                    "download it once with network to use it"
                ) from None
            raise ModelUnavailableError(
                f"could not load {model_id!r} for preset {preset.name!r} ({first_line(error, 200)}); "
                "check the network or the Hugging Face cache, or use --preset animatic (offline) or --preset tiny"
            ) from None
    return build


def _hub_loaders(preset: Preset) -> dict[str, tuple[str, Callable[[], Any]]]:
    """Each component's model id and its loader (nothing is loaded until a loader is called)."""
    m = preset.models

    def diffusers_part(cls_name: str, model_id: str, subfolder: str) -> tuple[str, Callable[[], Any]]:
        return model_id, lambda: _load_diffusers_part(preset, cls_name, model_id, subfolder)

    def transformers_part(cls_name: str, model_id: str, subfolder: str = "", place: bool = True) -> tuple[str, Callable[[], Any]]:
        return model_id, lambda: _load_transformers_part(preset, cls_name, model_id, subfolder, place)

    return {
        "tokenizer": transformers_part("CLIPTokenizer", m.base_video, "tokenizer", place=False),
        "text_encoder": transformers_part("CLIPTextModel", m.base_video, "text_encoder"),
        "video_unet": diffusers_part("UNet3DConditionModel", m.base_video, "unet"),
        # The same public UNet again, kept untouched: video_unet is overwritten by the released weights.
        "first_chunk_unet": diffusers_part("UNet3DConditionModel", m.base_video, "unet"),
        "refiner_unet": diffusers_part("UNet3DConditionModel", m.refiner, "unet"),
        "vae": diffusers_part("AutoencoderKL", m.base_video, "vae"),
        "scheduler": (m.base_video, lambda: _load_scheduler(m.base_video)),
        "image_encoder": transformers_part("CLIPVisionModelWithProjection", m.image_encoder),
        "image_processor": transformers_part("CLIPImageProcessorPil", m.image_encoder, place=False),  # no torchvision
        "text_to_image": (m.text_to_image, lambda: _load_text_to_image(preset)),
        "llm": (m.planner_llm, lambda: _load_llm(preset)),
        "clip": (m.clip_metric, lambda: _load_clip(m.clip_metric)),
    }


def _load_diffusers_part(preset: Preset, cls_name: str, model_id: str, subfolder: str) -> Any:
    import diffusers

    part = getattr(diffusers, cls_name).from_pretrained(model_id, subfolder=subfolder, torch_dtype=dtype_for(preset))
    return _place(part, preset)


def _load_transformers_part(preset: Preset, cls_name: str, model_id: str, subfolder: str, place: bool) -> Any:
    import transformers

    kwargs: dict[str, Any] = {"subfolder": subfolder} if subfolder else {}
    if place:
        kwargs["dtype"] = dtype_for(preset)
    part = getattr(transformers, cls_name).from_pretrained(model_id, **kwargs)
    return _place(part, preset) if place else part


def _load_scheduler(model_id: str) -> Any:
    import diffusers

    return diffusers.DDIMScheduler.from_pretrained(model_id, subfolder="scheduler")


def _load_text_to_image(preset: Preset) -> Any:
    import diffusers

    pipe = diffusers.AutoPipelineForText2Image.from_pretrained(preset.models.text_to_image, torch_dtype=dtype_for(preset),
                                                                safety_checker=None)
    if preset.models.cpu_offload and device_for(preset).type == "cuda":
        pipe.enable_model_cpu_offload()
        return pipe
    return pipe.to(device_for(preset))


def _load_llm(preset: Preset) -> tuple[Any, Any]:
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(preset.models.planner_llm)
    model = transformers.AutoModelForCausalLM.from_pretrained(preset.models.planner_llm, dtype=dtype_for(preset))
    return _place(model, preset).eval(), tokenizer


def _load_clip(model_id: str) -> tuple[Any, Any]:
    import transformers

    return transformers.CLIPModel.from_pretrained(model_id).eval(), transformers.CLIPProcessor.from_pretrained(model_id)


