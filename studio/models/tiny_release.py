"""The tiny preset's synthetic "released" StreamingT2V checkpoint, written in code.

An untrained StreamingModel is a no-op memory: the CAM's output conv, every injector's output
projection and every APM gate (alpha) start at zero, so a chunk made with another context or anchor
would be identical to one made with none, and no tiny test could tell whether the right frames and
anchor reach the model. The released weights are what make the memory act; this module gives the tiny
model such weights: its own (seeded) weights with every all-zero tensor filled from a fixed seed, saved
as a Lightning-style `.ckpt` with the official names and extras, and loaded back through the real
reader (ckpt_reader), mapping and strict load (checkpoint.py), as the gpu preset loads the real file.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

RELEASE_SEED = 14
WEIGHT_SCALE = 0.2  # large enough that the memory visibly changes a tiny chunk, small enough to stay stable
GATE_VALUE = 1.0  # alpha: SiLU(1.0) = 0.73 of the image tokens mixed into the context


def synthetic_release_state(model) -> dict:
    """The model's state dict in the official names, its zero-initialised tensors made non-zero."""
    from studio.generate.checkpoint import to_released_key

    generator = torch.Generator().manual_seed(RELEASE_SEED)
    state = {}
    for key, value in model.state_dict().items():
        value = value.detach().clone()
        if key.endswith(".alpha"):
            value.fill_(GATE_VALUE)
        elif not value.any() and value.is_floating_point():
            value = torch.randn(value.shape, generator=generator, dtype=value.dtype) * WEIGHT_SCALE
        state[to_released_key(key)] = value
    return state


def write_synthetic_release(model, path: Path) -> None:
    """A Lightning-style checkpoint: state_dict plus the extras a real one carries beside it."""
    state = synthetic_release_state(model)
    state["vae.encoder.conv_in.weight"] = torch.zeros(4, 3, 3, 3)  # frozen public copies, dropped on load
    state["text_encoder.embeddings.token_embedding.weight"] = torch.zeros(8, 4)
    torch.save({"state_dict": state, "epoch": 0, "global_step": 0, "hyper_parameters": {"preset": "tiny"},
                "optimizer_states": [], "lr_schedulers": []}, path)


def load_synthetic_release(model):
    """Write the synthetic checkpoint to a temporary file and load it the way the real one is loaded."""
    from studio.generate.checkpoint import LoadReport, load_into, map_state_dict
    from studio.generate.ckpt_reader import read_checkpoint

    with tempfile.TemporaryDirectory(prefix="streamstudio-tiny-release-") as folder:
        path = Path(folder) / "streaming_t2v.ckpt"
        write_synthetic_release(model, path)
        mapped, report = map_state_dict(read_checkpoint(path), LoadReport())
        mapped = {k: v.clone() for k, v in mapped.items()}  # off the mapped file before it goes
    return load_into(model, mapped, report)


def tiny_streaming_model(synthetic_release: bool = True):
    """A fresh (uncached) tiny StreamingModel, with the synthetic release loaded unless asked not to."""
    from studio.generate.model import StreamingModel
    from studio.models import tiny

    model = StreamingModel.build(tiny.unet3d(), tiny.clip_vision(), vae_scale_factor=4)
    if synthetic_release:
        load_synthetic_release(model)
    return model.eval().requires_grad_(False)
