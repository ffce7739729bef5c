"""Loading each component of a `hub` preset from its repository as published, and saying why one failed.

Every loader passes the preset's revision and variant (studio.models.repos). What is checked after loading,
because the libraries do not fail on their own:
- tokenizers: transformers 5's CLIPTokenizer.from_pretrained returns a 2-token tokenizer with
  model_max_length ~1e30 when its files are missing; a CLIP tokenizer must have >= 49,000 tokens and 77.
- the image encoder: a CLIPModel config.json (LAION's uploads) leaves projection_dim out of its
  vision_config, so the projection would be built 512 wide against 1024-wide weights; the top-level
  projection_dim is passed when the vision config lacks it.
Every failure while loading (missing file, size mismatch, out of memory) becomes one ModelUnavailableError
line naming the component, the repository and what to do (`explain`).
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from studio.config import Preset
from studio.errors import ModelUnavailableError, first_line
from studio.models.repos import revision_of, variant_of

logger = logging.getLogger(__name__)

CLIP_MIN_VOCAB = 49_000  # CLIP's BPE vocabulary is 49,408
CLIP_MAX_LENGTH = 77

# Failures a load or a forward can raise that a person can act on (RuntimeError covers size mismatches and
# torch.OutOfMemoryError; KeyError/AttributeError a config of another model).
LOAD_ERRORS = (OSError, ValueError, ImportError, RuntimeError, KeyError, AttributeError, EnvironmentError)


def where(preset: Preset, repo: str, subfolder: str = "") -> str:
    """'repo/subfolder@revision' as a message names it."""
    return f"{repo}{'/' + subfolder if subfolder else ''}@{revision_of(preset, repo)[:12]}"


def explain(error: BaseException, preset: Preset, component: str, repo: str, subfolder: str = "") -> ModelUnavailableError:
    """One line: which component of which repository failed, why, and what to do."""
    import torch

    place = where(preset, repo, subfolder)
    reason = first_line(error, 200)
    if isinstance(error, torch.OutOfMemoryError):
        return ModelUnavailableError(
            f"{component} ({place}) ran out of GPU memory; set models.cpu_offload: true in the preset or use a GPU "
            f"with more memory (`python -m studio models check --preset {preset.name}` shows each stage's peak)")
    if isinstance(error, ModelUnavailableError):
        return error
    if isinstance(error, RuntimeError) and ("mismatch" in reason or "shape" in reason):
        return ModelUnavailableError(
            f"{component} ({place}): the weights do not match the config ({reason}); the cached files are damaged "
            f"or of another revision: delete them from the Hugging Face cache and download again "
            f"(`python -m studio models check --preset {preset.name}` names the file)")
    return ModelUnavailableError(
        f"could not load {component} ({place}) for preset {preset.name!r} ({reason}); check the network or the "
        "Hugging Face cache, or use --preset animatic (offline) or --preset tiny")


@contextmanager
def running(preset: Preset, component: str, repo: str) -> Iterator[None]:
    """Around a model's forward: out of GPU memory becomes the one-line message."""
    import torch

    try:
        yield
    except torch.OutOfMemoryError as error:
        raise explain(error, preset, component, repo) from None


def check_clip_tokenizer(tokenizer: Any, preset: Preset, repo: str, subfolder: str) -> Any:
    """Refuse a CLIP tokenizer that loaded without its files (transformers 5 does not fail by itself)."""
    size, limit = len(tokenizer), getattr(tokenizer, "model_max_length", None)
    if size < CLIP_MIN_VOCAB or limit != CLIP_MAX_LENGTH:
        raise ModelUnavailableError(
            f"the tokenizer of {where(preset, repo, subfolder)} loaded with {size} tokens and model_max_length "
            f"{limit:.3g} (a CLIP tokenizer has >= {CLIP_MIN_VOCAB} and {CLIP_MAX_LENGTH}): its files are missing or "
            f"damaged in the Hugging Face cache; download them again (`python -m studio models check --preset {preset.name}`)")
    return tokenizer


def hub_loaders(preset: Preset) -> dict[str, tuple[str, str, Callable[[], Any]]]:
    """Each component's (repository, subfolder, loader); nothing is loaded until a loader is called."""
    m = preset.models

    def diffusers_part(cls_name: str, repo: str, subfolder: str):
        return repo, subfolder, lambda: _load_diffusers_part(preset, cls_name, repo, subfolder)

    return {
        "tokenizer": (m.base_video, "tokenizer", lambda: load_clip_tokenizer(preset, m.base_video, "tokenizer")),
        "text_encoder": (m.base_video, "text_encoder",
                         lambda: _load_transformers_part(preset, "CLIPTextModel", m.base_video, "text_encoder")),
        "video_unet": diffusers_part("UNet3DConditionModel", m.base_video, "unet"),
        # The same public UNet again, kept untouched: video_unet is overwritten by the released weights.
        "first_chunk_unet": diffusers_part("UNet3DConditionModel", m.base_video, "unet"),
        "refiner_unet": diffusers_part("UNet3DConditionModel", m.refiner, "unet"),
        "vae": diffusers_part("AutoencoderKL", m.base_video, "vae"),
        "scheduler": (m.base_video, "scheduler", lambda: _load_scheduler(preset, m.base_video)),
        "image_encoder": (m.image_encoder, m.image_encoder_subfolder, lambda: load_image_encoder(preset)),
        "image_processor": (m.image_encoder, m.image_encoder_subfolder, clip_image_processor),
        "text_to_image": (m.text_to_image, "", lambda: _load_text_to_image(preset)),
        "llm": (m.planner_llm, "", lambda: _load_llm(preset)),
        "clip": (m.clip_metric, "", lambda: _load_clip(preset)),
    }


def _place(module: Any, preset: Preset) -> Any:
    from studio.models.cache import _place as place

    return place(module, preset)


def _load_diffusers_part(preset: Preset, cls_name: str, repo: str, subfolder: str) -> Any:
    import diffusers

    from studio.models.cache import dtype_for

    part = getattr(diffusers, cls_name).from_pretrained(repo, subfolder=subfolder, torch_dtype=dtype_for(preset),
                                                        revision=revision_of(preset, repo), variant=_variant(preset, repo, subfolder))
    return _place(part, preset)


def _variant(preset: Preset, repo: str, subfolder: str) -> str | None:
    """The variant only where the preset records that folder's variant files (a .bin-only folder has none)."""
    variant = variant_of(preset, repo)
    if variant is None:
        return None
    from studio.models.repos import files_under

    files = files_under(preset, repo, subfolder)
    return variant if not files or any(f".{variant}." in path for path in files) else None


def _load_transformers_part(preset: Preset, cls_name: str, repo: str, subfolder: str) -> Any:
    import transformers

    from studio.models.cache import dtype_for

    part = getattr(transformers, cls_name).from_pretrained(repo, subfolder=subfolder, dtype=dtype_for(preset),
                                                           revision=revision_of(preset, repo),
                                                           variant=_variant(preset, repo, subfolder))
    return _place(part, preset)


def load_clip_tokenizer(preset: Preset, repo: str, subfolder: str) -> Any:
    import transformers

    tokenizer = transformers.CLIPTokenizer.from_pretrained(repo, subfolder=subfolder, revision=revision_of(preset, repo))
    return check_clip_tokenizer(tokenizer, preset, repo, subfolder)


def image_encoder_overrides(config_dict: dict) -> dict:
    """What to pass besides a config.json: a CLIPModel config's projection_dim when its vision_config lacks it."""
    vision = config_dict.get("vision_config")
    if isinstance(vision, dict) and "projection_dim" not in vision and "projection_dim" in config_dict:
        return {"projection_dim": config_dict["projection_dim"]}
    return {}


def load_image_encoder(preset: Preset) -> Any:
    """The CLIP ViT-H image encoder with projection, shared by the APM and IP-Adapter."""
    import transformers

    from studio.models.cache import dtype_for

    m = preset.models
    revision = revision_of(preset, m.image_encoder)
    config_dict, _ = transformers.CLIPVisionConfig.get_config_dict(m.image_encoder, subfolder=m.image_encoder_subfolder,
                                                                   revision=revision)
    encoder = transformers.CLIPVisionModelWithProjection.from_pretrained(
        m.image_encoder, subfolder=m.image_encoder_subfolder, revision=revision, dtype=dtype_for(preset),
        **image_encoder_overrides(config_dict))
    return _place(encoder, preset)


def clip_image_processor() -> Any:
    """CLIP's preprocessing (224 px, OpenAI mean and std, as OpenCLIP ViT-H uses), built in code: the
    encoder's folder in IP-Adapter's repository ships no preprocessor config, and diffusers does the same.
    The PIL processor: the default one needs torchvision, which is never installed here."""
    from transformers import CLIPImageProcessorPil

    return CLIPImageProcessorPil(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224})


def _load_scheduler(preset: Preset, repo: str) -> Any:
    import diffusers

    return diffusers.DDIMScheduler.from_pretrained(repo, subfolder="scheduler", revision=revision_of(preset, repo))


def _load_text_to_image(preset: Preset) -> Any:
    import diffusers

    from studio.models.cache import device_for, dtype_for, get_component

    m = preset.models
    # The shared image encoder goes in as a pipeline component: load_ip_adapter then loads none of its own,
    # and enable_model_cpu_offload gives it an offload hook like the other components.
    pipe = diffusers.AutoPipelineForText2Image.from_pretrained(
        m.text_to_image, torch_dtype=dtype_for(preset), revision=revision_of(preset, m.text_to_image),
        variant=variant_of(preset, m.text_to_image), safety_checker=None,
        image_encoder=get_component(preset, "image_encoder"))
    check_clip_tokenizer(pipe.tokenizer, preset, m.text_to_image, "tokenizer")
    if preset.models.cpu_offload and device_for(preset).type == "cuda":
        pipe.enable_model_cpu_offload()
        return pipe
    return pipe.to(device_for(preset))


def _load_llm(preset: Preset) -> tuple[Any, Any]:
    import transformers

    from studio.models.cache import dtype_for

    repo = preset.models.planner_llm
    tokenizer = transformers.AutoTokenizer.from_pretrained(repo, revision=revision_of(preset, repo))
    model = transformers.AutoModelForCausalLM.from_pretrained(repo, dtype=dtype_for(preset), revision=revision_of(preset, repo))
    return _place(model, preset).eval(), tokenizer


def _load_clip(preset: Preset) -> tuple[Any, Any]:
    import transformers

    repo = preset.models.clip_metric
    revision = revision_of(preset, repo)
    processor = transformers.CLIPProcessor.from_pretrained(repo, revision=revision)
    check_clip_tokenizer(processor.tokenizer, preset, repo, "")
    return transformers.CLIPModel.from_pretrained(repo, revision=revision).eval(), processor
