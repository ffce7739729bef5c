"""IP-Adapter on the shared text-to-image pipeline: loaded once, swapped in for one call at a time.

The text-to-image pipeline is a shared cached component (studio.models.cache), used for plain entity
references and for scene images. `pipe.load_ip_adapter` rewires its UNet (IP attention processors,
an image projection, `encoder_hid_dim_type = "ip_image_proj"`), after which a call without image
embeddings fails. So the adapter is loaded once per preset, its processors and projection are kept
aside (`cached`), and the plain ones are put back. A scene call swaps the adapter in, sets its scales
and swaps it out, all under `PIPELINE_LOCK`, so no call ever sees an adapter or a scale it did not set.
(`unload_ip_adapter` is not used: it also drops the pipeline's image encoder.)

For the `tiny` preset the adapter is a random state dict built in code with the layout of a real
checkpoint (`ip-adapter_sd15.safetensors` as diffusers splits it), so `load_ip_adapter` runs its real
conversion and the real attention processors on a CPU:

    {"image_proj": {"proj.weight": (4 * cross_dim, image_dim), "proj.bias": (4 * cross_dim,),
                    "norm.weight": (cross_dim,), "norm.bias": (cross_dim,)},
     "ip_adapter": {"1.to_k_ip.weight": (hidden, cross_dim), "1.to_v_ip.weight": ..., "3.to_k_ip.weight": ...}}
"""

from __future__ import annotations

import logging
import math
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from studio.config import Preset
from studio.errors import StudioError

logger = logging.getLogger(__name__)

NUM_IMAGE_TOKENS = 4  # plain IP-Adapter: one CLIP image embedding becomes 4 text-like tokens
TINY_IP_ADAPTER_SEED = 11

# Every call of the shared text-to-image pipeline goes through this lock: diffusers pipelines keep
# per-call state (scheduler timesteps, IP-Adapter processors and scales). Components are fetched from
# studio.models.cache *before* taking it, so the lock order is always the models cache lock, then this one.
PIPELINE_LOCK = threading.Lock()


@dataclass
class IPAdapterWeights:
    """The adapter's attention processors and image projection, kept aside between scene calls."""

    processors: dict[str, Any]
    image_projection: Any


def ip_adapter_for(preset: Preset, pipe: Any) -> IPAdapterWeights:
    """The preset's IP-Adapter for `pipe`, loaded on first use (call it *outside* PIPELINE_LOCK)."""
    from studio.models.cache import cached

    m = preset.models
    name = f"ip_adapter:{m.ip_adapter}/{m.ip_adapter_subfolder}/{m.ip_adapter_weight}"
    return cached(preset, name, lambda: load_ip_adapter_weights(preset, pipe))


def load_ip_adapter_weights(preset: Preset, pipe: Any) -> IPAdapterWeights:
    """Load the IP-Adapter into `pipe` with `load_ip_adapter`, take its parts out, leave `pipe` plain."""
    unet = getattr(pipe, "unet", None)
    if unet is None or not hasattr(pipe, "load_ip_adapter"):
        raise StudioError(f"the text-to-image pipeline {type(pipe).__name__} has no UNet IP-Adapter support; "
                          "use a Stable Diffusion 1.5 or SDXL model in models.text_to_image")
    m = preset.models
    with PIPELINE_LOCK:
        plain_processors = dict(unet.attn_processors)
        plain_projection, plain_type = unet.encoder_hid_proj, unet.config.encoder_hid_dim_type
        try:
            if m.backend == "tiny":
                state = random_ip_adapter_state_dict(unet, pipe.image_encoder.config.projection_dim)
                pipe.load_ip_adapter(state, subfolder="", weight_name="", image_encoder_folder=None)
            else:
                from studio.models.hub import LOAD_ERRORS, explain
                from studio.models.repos import revision_of

                try:
                    # The pipeline already holds the shared image encoder, so no second copy is loaded.
                    pipe.load_ip_adapter(m.ip_adapter, subfolder=m.ip_adapter_subfolder, weight_name=m.ip_adapter_weight,
                                         revision=revision_of(preset, m.ip_adapter))
                except LOAD_ERRORS as error:
                    raise explain(error, preset, "ip_adapter", m.ip_adapter,
                                  f"{m.ip_adapter_subfolder}/{m.ip_adapter_weight}") from None
            weights = IPAdapterWeights(dict(unet.attn_processors), unet.encoder_hid_proj)
        finally:
            _set_unet_adapter(unet, plain_processors, plain_projection, plain_type)
    logger.info("IP-Adapter ready: %d attention processors", sum(hasattr(p, "to_k_ip") for p in weights.processors.values()))
    return weights


def _set_unet_adapter(unet: Any, processors: dict[str, Any], projection: Any, hid_dim_type: str | None) -> None:
    unet.set_attn_processor(dict(processors))  # set_attn_processor pops from the dict it is given
    unet.encoder_hid_proj = projection
    unet.config.encoder_hid_dim_type = hid_dim_type


@contextmanager
def adapter_installed(pipe: Any, adapter: IPAdapterWeights) -> Iterator[None]:
    """Swap the IP-Adapter into `pipe` for one call; the caller holds PIPELINE_LOCK."""
    unet = pipe.unet
    plain_processors = dict(unet.attn_processors)
    plain_projection, plain_type = unet.encoder_hid_proj, unet.config.encoder_hid_dim_type
    _set_unet_adapter(unet, adapter.processors, adapter.image_projection, "ip_image_proj")
    try:
        yield
    finally:
        _set_unet_adapter(unet, plain_processors, plain_projection, plain_type)


# ----------------------------------------------------------------------------- tiny preset


def _hidden_size(unet: Any, processor_name: str) -> int:
    """The channel count of the block an attention processor lives in (as diffusers computes it)."""
    channels = list(unet.config.block_out_channels)
    if processor_name.startswith("mid_block"):
        return channels[-1]
    block_id = int(processor_name.split(".")[1])
    if processor_name.startswith("up_blocks"):
        return list(reversed(channels))[block_id]
    return channels[block_id]


def random_ip_adapter_state_dict(unet: Any, image_embed_dim: int, seed: int = TINY_IP_ADAPTER_SEED) -> dict[str, dict]:
    """Random IP-Adapter weights that fit `unet` and an image encoder of `image_embed_dim` (its projection_dim).

    diffusers numbers the attention processors in `unet.attn_processors` order and gives the odd numbers
    to the cross-attention ones (attn2), so the keys are made by walking that same order. Weights come
    from a local generator (the global torch RNG is left alone) at the scale of PyTorch's default Linear
    init, so the adapter visibly changes the output.
    """
    import torch

    generator = torch.Generator(device="cpu").manual_seed(seed)
    cross_dim = int(unet.config.cross_attention_dim)

    def weight(out_features: int, in_features: int) -> "torch.Tensor":
        return torch.randn(out_features, in_features, generator=generator) / math.sqrt(in_features)  # (out, in)

    image_proj = {
        "proj.weight": weight(NUM_IMAGE_TOKENS * cross_dim, image_embed_dim),  # (4 * cross_dim, image_dim)
        "proj.bias": torch.zeros(NUM_IMAGE_TOKENS * cross_dim),
        "norm.weight": torch.ones(cross_dim),
        "norm.bias": torch.zeros(cross_dim),
    }
    ip_adapter: dict[str, Any] = {}
    key_id = 1
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):
            continue  # self-attention: no image branch
        hidden = _hidden_size(unet, name)
        ip_adapter[f"{key_id}.to_k_ip.weight"] = weight(hidden, cross_dim)  # (hidden, cross_dim)
        ip_adapter[f"{key_id}.to_v_ip.weight"] = weight(hidden, cross_dim)  # (hidden, cross_dim)
        key_id += 2
    return {"image_proj": image_proj, "ip_adapter": ip_adapter}
