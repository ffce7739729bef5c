"""The released StreamingT2V weights: map their names onto our modules, convert once to fp16 safetensors.

Two layouts are accepted (SPEC §1 "Loading the released weights"):

- official (`PAIR/StreamingT2V` / `streaming_t2v.ckpt`, a Lightning checkpoint, `ckpt["state_dict"]`):
  `unet.` = the CAM encoder copy (misleading name), `base_model.` = the base UNet3D plus the injectors
  (`cross_attention_merger_down_blocks.{i}.temporal_transformer.`, `cross_attention_merger_mid_block.
  temporal_transformer.`) plus the APM `attn2.conv` / `attn2.conv_ln` / `attn2.alpha`, `resampler.` =
  the APM MLP. The frozen public copies (`image_encoder.`, `text_encoder.`, `vae.`) are dropped.
- VidXTend (a diffusers-format port): the same, with `base_model.` renamed `unet.` and `unet.` renamed
  `controlnet.`.

Our names (StreamingModel.state_dict()): `cam.encoder.`, `cam.injectors_down.{i}.`, `cam.injector_mid.`,
`unet.` (with `attn2.processor.conv` etc., because our processor owns the mixing), `resampler.`.
A pickle is only ever read with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from studio.errors import ModelUnavailableError, StudioError, first_line
from studio.project.paths import atomic_path

logger = logging.getLogger(__name__)

_MERGER_DOWN = re.compile(r"^cross_attention_merger_down_blocks\.(\d+)\.temporal_transformer\.(.+)$")
_MERGER_MID = re.compile(r"^cross_attention_merger_mid_block\.temporal_transformer\.(.+)$")
_APM_PARAM = re.compile(r"\.attn2\.(conv|conv_ln|alpha)(\.|$)")
_OUR_APM_PARAM = re.compile(r"\.attn2\.processor\.(conv|conv_ln|alpha)(\.|$)")
FROZEN_PREFIXES = ("image_encoder.", "text_encoder.", "vae.", "first_stage_model.", "cond_stage_model.")


@dataclass
class LoadReport:
    """What a mapping or a load found; `missing` and `unexpected` are in our names (unexpected: theirs)."""

    layout: str = ""
    loaded: int = 0
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    dropped_frozen: int = 0


def detect_layout(keys) -> str:
    keys = list(keys)
    if any(k.startswith("controlnet.") for k in keys):
        return "vidxtend"
    if any(k.startswith("base_model.") for k in keys):
        return "official"
    raise StudioError("the checkpoint has neither 'base_model.' (official StreamingT2V) nor 'controlnet.' (VidXTend) "
                      "keys; it is not a StreamingT2V checkpoint")


def _base_to_ours(rest: str) -> str:
    """A key inside the base UNet (after its prefix) -> our name."""
    match = _MERGER_DOWN.match(rest)
    if match:
        return f"cam.injectors_down.{match.group(1)}.{match.group(2)}"
    match = _MERGER_MID.match(rest)
    if match:
        return f"cam.injector_mid.{match.group(1)}"
    return "unet." + _APM_PARAM.sub(lambda m: f".attn2.processor.{m.group(1)}{m.group(2)}", rest)


def to_our_key(key: str, layout: str) -> str | None:
    """Released name -> our name; None for the frozen public copies and unknown prefixes."""
    cam_prefix, base_prefix = ("unet.", "base_model.") if layout == "official" else ("controlnet.", "unet.")
    if key.startswith(cam_prefix):
        return "cam.encoder." + key[len(cam_prefix):]
    if key.startswith(base_prefix):
        return _base_to_ours(key[len(base_prefix):])
    if key.startswith("resampler."):
        return key
    return None


def to_released_key(key: str, layout: str = "official") -> str:
    """Our name -> the released name (the inverse of to_our_key; used to build synthetic checkpoints)."""
    cam_prefix, base_prefix = ("unet.", "base_model.") if layout == "official" else ("controlnet.", "unet.")
    if key.startswith("cam.encoder."):
        return cam_prefix + key[len("cam.encoder."):]
    match = re.match(r"^cam\.injectors_down\.(\d+)\.(.+)$", key)
    if match:
        return f"{base_prefix}cross_attention_merger_down_blocks.{match.group(1)}.temporal_transformer.{match.group(2)}"
    if key.startswith("cam.injector_mid."):
        return f"{base_prefix}cross_attention_merger_mid_block.temporal_transformer.{key[len('cam.injector_mid.'):]}"
    if key.startswith("unet."):
        return base_prefix + _OUR_APM_PARAM.sub(lambda m: f".attn2.{m.group(1)}{m.group(2)}", key[len("unet."):])
    if key.startswith("resampler."):
        return key
    raise ValueError(f"{key!r} is not a StreamingModel key")


def map_state_dict(state: dict, report: LoadReport | None = None) -> tuple[dict, LoadReport]:
    """A released state dict -> our names (frozen copies dropped, unknown keys reported)."""
    report = report or LoadReport()
    report.layout = detect_layout(state)
    mapped = {}
    for key, value in state.items():
        ours = to_our_key(key, report.layout)
        if ours is None:
            if key.startswith(FROZEN_PREFIXES):
                report.dropped_frozen += 1
            else:
                report.unexpected.append(key)
            continue
        mapped[ours] = value
    return mapped, report


def read_checkpoint(path: Path) -> dict:
    """The state dict of a .ckpt/.pt (weights_only pickle) or .safetensors file; a clear error otherwise."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise StudioError(f"checkpoint {path} does not exist")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)  # 25 GB: map, don't read
        except RuntimeError as error:
            if "mmap" not in str(error):
                raise
            obj = torch.load(path, map_location="cpu", weights_only=True)  # legacy (non-zip) format
    except Exception as error:  # noqa: BLE001 - any failure to parse is one message to the user
        raise StudioError(f"checkpoint {path} could not be read ({type(error).__name__}: {first_line(error)})") from None
    state = obj.get("state_dict", obj) if isinstance(obj, dict) else None
    if not isinstance(state, dict) or not all(hasattr(v, "shape") for v in state.values()):
        raise StudioError(f"checkpoint {path} holds no state dict of tensors")
    return state


def convert_checkpoint(source: Path, target: Path) -> LoadReport:
    """Released checkpoint -> our names, floating tensors in fp16, one safetensors file (written atomically)."""
    import torch
    from safetensors.torch import save_file

    mapped, report = map_state_dict(read_checkpoint(source))
    tensors = {k: (v.to(torch.float16) if v.is_floating_point() else v).contiguous() for k, v in mapped.items()}
    with atomic_path(Path(target)) as tmp:
        save_file(tensors, str(tmp), metadata={"layout": report.layout, "source": Path(source).name})
    report.loaded = len(tensors)
    logger.info("converted %s (%s layout): %d tensors, %d frozen dropped, %d unexpected",
                source, report.layout, len(tensors), report.dropped_frozen, len(report.unexpected))
    return report


def load_into(model, state: dict, report: LoadReport | None = None) -> LoadReport:
    """Copy `state` (our names) into `model`. Shapes are checked first: a mismatch changes nothing.

    Missing CAM / APM keys are an error (they would leave a silent no-op); missing base-UNet keys are
    only reported (the base already has its public weights).
    """
    import torch

    report = report or LoadReport(layout="ours")
    own = model.state_dict()
    for key, value in state.items():
        if key not in own:
            report.unexpected.append(key)
        elif tuple(own[key].shape) != tuple(value.shape):
            report.mismatched.append(f"{key}: checkpoint {tuple(value.shape)} vs model {tuple(own[key].shape)}")
    if report.mismatched:
        raise StudioError(f"the StreamingT2V weights do not fit this model ({len(report.mismatched)} shape mismatches, "
                          f"first: {'; '.join(report.mismatched[:3])}); check models.base_video and the checkpoint")
    report.missing = sorted(k for k in own if k not in state)
    essential = [k for k in report.missing if k.startswith(("cam.", "resampler.")) or ".attn2.processor." in k]
    if essential:
        raise StudioError(f"the StreamingT2V weights lack {len(essential)} CAM/APM tensors (first: {essential[0]}); "
                          "the checkpoint is incomplete or of another model")
    with torch.no_grad():
        for key, value in state.items():
            if key in own:
                own[key].copy_(value.to(dtype=own[key].dtype))
                report.loaded += 1
    if report.missing:
        logger.warning("%d base UNet tensors not in the checkpoint (kept from the base model), first: %s",
                       len(report.missing), report.missing[0])
    if report.unexpected:
        logger.warning("%d unexpected tensors ignored, first: %s", len(report.unexpected), report.unexpected[0])
    return report


def converted_path(preset) -> Path:
    """Where the fp16 conversion lives: beside the Hugging Face cache, named after the repo and file."""
    from huggingface_hub import constants

    m = preset.models
    name = f"{m.streaming_checkpoint.replace('/', '--')}--{Path(m.streaming_checkpoint_file).stem}.fp16.safetensors"
    return Path(constants.HF_HUB_CACHE) / "streamstudio" / name


def load_released_weights(model, preset) -> LoadReport:
    """Load the CAM/APM (and base) weights of `preset` into `model`, downloading and converting once."""
    from safetensors.torch import load_file

    target = converted_path(preset)
    if not target.is_file():
        m = preset.models
        try:
            from huggingface_hub import hf_hub_download

            source = hf_hub_download(m.streaming_checkpoint, m.streaming_checkpoint_file)
        except Exception as error:  # noqa: BLE001 - network, auth, missing file: one sentence either way
            raise ModelUnavailableError(
                f"could not download {m.streaming_checkpoint}/{m.streaming_checkpoint_file} ({type(error).__name__}); "
                "check the network or the Hugging Face cache, or use --preset animatic (offline) or --preset tiny"
            ) from None
        convert_checkpoint(Path(source), target)
    return load_into(model, load_file(str(target)), LoadReport(layout="converted"))
