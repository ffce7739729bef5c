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
A pickle is only ever read through ckpt_reader (no code from it runs; tensors memory-mapped).
Loading is strict: every tensor of the model comes from the checkpoint, or nothing is loaded.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from studio.errors import ModelUnavailableError, StudioError
from studio.generate.ckpt_reader import printable_name, read_checkpoint

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
    if any(k.startswith("cam.encoder.") for k in keys):
        return "converted"  # our own names: a file convert_checkpoint wrote
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
    if layout == "converted":
        return key if key.startswith(("cam.", "unet.", "resampler.")) else None
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
    """A released state dict -> our names (frozen copies dropped, unknown keys reported in their names)."""
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


def compare_with_model(mapped: dict, expected: dict, report: LoadReport) -> LoadReport:
    """Fill report.missing / unexpected / mismatched: `mapped` (our names -> tensors) against `expected`
    (our names -> shapes, the model's state dict). Names are given as the checkpoint spells them."""
    def released(key: str) -> str:
        try:
            return to_released_key(key, report.layout) if report.layout in ("official", "vidxtend") else key
        except ValueError:
            return key

    for key, value in mapped.items():
        if key not in expected:
            report.unexpected.append(released(key))
        elif tuple(value.shape) != tuple(expected[key]):
            report.mismatched.append(f"{released(key)}: checkpoint {tuple(value.shape)} vs model {tuple(expected[key])}")
    report.missing = sorted(released(k) for k in expected if k not in mapped)
    report.loaded = sum(1 for k, v in mapped.items() if k in expected and tuple(v.shape) == tuple(expected[k]))
    return report


def refusal(report: LoadReport) -> str | None:
    """One line naming the first few missing, unexpected and mis-shaped tensors; None when loadable."""
    parts = []
    for label, names in (("missing", report.missing), ("unexpected", report.unexpected),
                         ("mis-shaped", report.mismatched)):
        if names:
            parts.append(f"{len(names)} {label} (first: {', '.join(map(printable_name, names[:3]))})")
    if not parts:
        return None
    return (f"the StreamingT2V weights do not fit this model: {'; '.join(parts)}; "
            "the checkpoint is incomplete, damaged or of another model (check models.base_video and the file)")


def convert_checkpoint(source: Path, target: Path, expected: dict | None = None, progress=None) -> LoadReport:
    """Released checkpoint -> our names, floating tensors in fp16, one safetensors file (streamed, atomic).

    With `expected` (our names -> shapes) a checkpoint that would not load is refused before writing.
    """
    from studio.generate.conversion import log_progress, write_safetensors_streaming

    check_output_file(source, target)
    mapped, report = map_state_dict(read_checkpoint(source))
    if expected is not None:
        compare_with_model(mapped, expected, report)
        reason = refusal(report)
        if reason:
            raise StudioError(reason)
    try:
        write_safetensors_streaming(mapped, Path(target), {"layout": report.layout, "source": Path(source).name},
                                    progress or log_progress, mapped_source=Path(source))
    except OSError as error:  # a full disk mid-way: atomic_path has already removed the partial file
        raise StudioError(f"could not write {target} ({error.strerror or error}); nothing was written: "
                          "free some disk space and try again") from None
    report.loaded = len(mapped)
    logger.info("converted %s (%s layout): %d tensors, %d frozen dropped, %d unexpected",
                source, report.layout, len(mapped), report.dropped_frozen, len(report.unexpected))
    return report


def check_output_file(source: Path, target: Path) -> None:
    """`target` may be a new path or a regular file, never the source itself (or a link to it): the
    conversion renames a new file onto it, which would replace a device node, a link or the input."""
    try:
        found = os.lstat(target)
    except FileNotFoundError:
        return
    except OSError as error:
        raise StudioError(f"output {target} cannot be checked ({error.strerror}); give another -o path") from None
    if not stat.S_ISREG(found.st_mode):
        raise StudioError(f"output {target} exists and is not a regular file (a device, folder, link or pipe); "
                          "give a new .safetensors path with -o")
    try:
        same = os.path.samefile(source, target)
    except OSError:
        same = False
    if same:
        raise StudioError(f"output {target} is the input checkpoint; give another .safetensors path with -o "
                          "(the input is never replaced)")


def load_into(model, state: dict, report: LoadReport | None = None) -> LoadReport:
    """Copy `state` (our names) into `model`, strictly: every tensor of the model must come from `state`
    with its shape, and nothing else may be there. Everything is checked before anything is copied."""
    import torch

    report = report or LoadReport(layout="ours")
    own = model.state_dict()
    compare_with_model(state, {k: tuple(v.shape) for k, v in own.items()}, report)
    reason = refusal(report)
    if reason:
        raise StudioError(reason)
    with torch.no_grad():
        for key, value in state.items():
            own[key].copy_(value.to(dtype=own[key].dtype))
    return report


def converted_path(preset) -> Path:
    """Where the fp16 conversion lives: beside the Hugging Face cache, named after the repo and file."""
    from huggingface_hub import constants

    from studio.models.repos import revision_of

    m = preset.models
    revision = revision_of(preset, m.streaming_checkpoint)[:12]  # another revision is another file
    name = f"{m.streaming_checkpoint.replace('/', '--')}--{revision}--{Path(m.streaming_checkpoint_file).stem}.fp16.safetensors"
    return Path(constants.HF_HUB_CACHE) / "streamstudio" / name


def load_released_weights(model, preset) -> LoadReport:
    """Load the CAM/APM (and base) weights of `preset` into `model`, downloading and converting once."""
    from safetensors.torch import load_file

    target = converted_path(preset)
    if not target.is_file():
        m = preset.models
        try:
            from huggingface_hub import hf_hub_download

            from studio.models.repos import revision_of

            source = hf_hub_download(m.streaming_checkpoint, m.streaming_checkpoint_file,
                                     revision=revision_of(preset, m.streaming_checkpoint))
        except Exception as error:  # noqa: BLE001 - network, auth, missing file: one sentence either way
            raise ModelUnavailableError(
                f"could not download {m.streaming_checkpoint}/{m.streaming_checkpoint_file} ({type(error).__name__}); "
                "check the network or the Hugging Face cache, or use --preset animatic (offline) or --preset tiny"
            ) from None
        convert_checkpoint(Path(source), target, expected={k: tuple(v.shape) for k, v in model.state_dict().items()})
    return load_into(model, load_file(str(target)), LoadReport(layout="converted"))
