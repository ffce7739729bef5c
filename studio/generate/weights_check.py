"""What a checkpoint must hold for a preset, and a report of how a given file measures up.

The expected names and shapes come from the preset's StreamingModel built on the meta device (no
memory, no weights, no download): the `hub` and `random`/full presets get the ModelScope-size
architecture (random_weights has its sizes in code), `random`/small its small one, `tiny` the tiny one.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from studio.config import Preset
from studio.errors import StudioError
from studio.generate.checkpoint import compare_with_model, map_state_dict, refusal
from studio.generate.ckpt_reader import read_checkpoint


def _meta_model(preset: Preset):
    import torch

    from studio.generate.model import StreamingModel

    backend = preset.models.backend
    if backend == "tiny":
        from studio.models import tiny

        unet, encoder, scale = tiny.unet3d(), tiny.clip_vision(), 4
        return StreamingModel.build(unet, encoder, scale, image_tokens=preset.streaming.apm_tokens)
    if backend not in ("hub", "random"):
        raise StudioError(f"preset {preset.name} (backend {backend}) runs no StreamingT2V model; "
                          "use --preset gpu, bench-gpu or tiny")
    from studio.models import random_weights

    architecture = preset.models.architecture if backend == "random" else "full"
    with torch.device("meta"):
        unet, encoder = random_weights.unet3d(architecture), random_weights.image_encoder(architecture)
        return StreamingModel.build(unet, encoder, 8, image_tokens=preset.streaming.apm_tokens)


def expected_shapes(preset: Preset) -> dict[str, tuple]:
    """Our names -> shapes of every tensor the preset's StreamingModel loads."""
    m = preset.models
    return dict(_shapes_of(preset, (m.backend, m.architecture, preset.streaming.apm_tokens)))


_SHAPES: dict[tuple, dict] = {}


def _shapes_of(preset: Preset, key: tuple) -> dict:
    # Building the full-size skeleton takes seconds even on meta: once per process per architecture.
    if key not in _SHAPES:
        _SHAPES[key] = {k: tuple(v.shape) for k, v in _meta_model(preset).state_dict().items()}
    return _SHAPES[key]


def inspect_checkpoint(path: Path, preset: Preset) -> dict:
    """layout, mapped, missing, unexpected, mismatched, dropped_frozen, loadable (and the refusal, if any)."""
    mapped, report = map_state_dict(read_checkpoint(Path(path)))
    compare_with_model(mapped, expected_shapes(preset), report)
    reason = refusal(report)
    found = asdict(report)
    return {"layout": found["layout"], "mapped": found["loaded"], "missing": found["missing"],
            "unexpected": found["unexpected"], "mismatched": found["mismatched"],
            "dropped_frozen": found["dropped_frozen"], "loadable": reason is None, "reason": reason}
