"""Real-size models with random weights (the `random` backend), for the benchmark.

Speed does not depend on the weights, so a benchmark on a machine without the Hub can still measure
the real architecture: the ModelScope UNet3D (~1.41 B parameters), the SD VAE, an OpenCLIP-H-sized
text encoder and a CLIP ViT-H-sized image encoder. `architecture: small` keeps the same block types at
a width a CPU runs in about a minute.

Modules are built on the meta device (no memory, no slow CPU initialisation) and then materialised
directly on the target device, where each layer is initialised with its own `reset_parameters`.
"""

from __future__ import annotations

from typing import Any

import torch

# Sizes per architecture. `full` is ModelScope text-to-video-ms-1.7b (diffusers' UNet3D defaults).
ARCHITECTURES: dict[str, dict[str, Any]] = {
    "full": dict(
        unet=dict(block_out_channels=(320, 640, 1280, 1280), layers_per_block=2, cross_attention_dim=1024,
                  attention_head_dim=64, norm_num_groups=32),
        vae=dict(block_out_channels=(128, 256, 512, 512), layers_per_block=2, norm_num_groups=32),
        text=dict(hidden_size=1024, intermediate_size=4096, num_attention_heads=16, num_hidden_layers=23, vocab_size=49408),
        vision=dict(hidden_size=1280, intermediate_size=5120, num_attention_heads=16, num_hidden_layers=32,
                    image_size=224, patch_size=14, projection_dim=1024),
    ),
    "small": dict(
        unet=dict(block_out_channels=(32, 64, 128, 128), layers_per_block=1, cross_attention_dim=128,
                  attention_head_dim=32, norm_num_groups=32),
        vae=dict(block_out_channels=(32, 32, 64, 64), layers_per_block=1, norm_num_groups=32),
        text=dict(hidden_size=128, intermediate_size=256, num_attention_heads=4, num_hidden_layers=2, vocab_size=1024),
        vision=dict(hidden_size=64, intermediate_size=128, num_attention_heads=4, num_hidden_layers=2,
                    image_size=224, patch_size=32, projection_dim=128),
    ),
}


def _sizes(architecture: str) -> dict[str, Any]:
    if architecture not in ARCHITECTURES:
        raise ValueError(f"models.architecture {architecture!r} must be one of {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[architecture]


def materialise(module: torch.nn.Module, device: torch.device, dtype: torch.dtype, seed: int = 0) -> torch.nn.Module:
    """Move a meta-device module to `device` and give every layer its default random initialisation."""
    module = module.to_empty(device=device)
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    with torch.no_grad():
        covered: set[int] = set()
        for layer in module.modules():
            if hasattr(layer, "reset_parameters") and layer is not module:
                layer.reset_parameters()
                covered.update(id(p) for p in layer.parameters(recurse=False))
        for parameter in module.parameters():
            if id(parameter) not in covered:
                # A parameter no layer resets (CLIP's class_embedding, ...) would keep whatever memory to_empty
                # left: random values that differ run to run. They get the transformer init instead.
                torch.nn.init.normal_(parameter, std=0.02)
        for name, buffer in module.named_buffers():
            if "position_ids" in name:  # CLIP's position ids are a buffer, not a weight
                buffer.copy_(torch.arange(buffer.shape[-1], device=device).expand_as(buffer))
    torch.random.set_rng_state(generator_state)
    return (module if dtype == torch.float32 else module.to(dtype=dtype)).eval()


def unet3d(architecture: str) -> torch.nn.Module:
    from diffusers import UNet3DConditionModel

    with torch.device("meta"):
        return UNet3DConditionModel(sample_size=32, **_sizes(architecture)["unet"])


def vae(architecture: str) -> torch.nn.Module:
    from diffusers import AutoencoderKL

    blocks = len(_sizes(architecture)["vae"]["block_out_channels"])
    with torch.device("meta"):
        return AutoencoderKL(
            in_channels=3, out_channels=3, latent_channels=4, sample_size=256,
            down_block_types=("DownEncoderBlock2D",) * blocks, up_block_types=("UpDecoderBlock2D",) * blocks,
            **_sizes(architecture)["vae"],
        )


def text_encoder(architecture: str) -> torch.nn.Module:
    from transformers import CLIPTextConfig, CLIPTextModel

    config = CLIPTextConfig(bos_token_id=0, eos_token_id=1, pad_token_id=1, max_position_embeddings=77,
                            **_sizes(architecture)["text"])
    with torch.device("meta"):
        return CLIPTextModel(config)


def image_encoder(architecture: str) -> torch.nn.Module:
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    with torch.device("meta"):
        return CLIPVisionModelWithProjection(CLIPVisionConfig(**_sizes(architecture)["vision"]))


def image_processor() -> Any:
    # The PIL processor: the default one needs torchvision, which is never installed here.
    from transformers import CLIPImageProcessorPil as CLIPImageProcessor

    return CLIPImageProcessor(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224})
