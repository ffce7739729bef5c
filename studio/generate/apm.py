"""APM, the Appearance Preservation Module (long-term memory): SPEC §1 "APM".

The anchor image goes through a CLIP vision model with projection (transformers'
CLIPVisionModelWithProjection: the ViT-H-14 weights without open_clip), then a resampler MLP turns
the projected embedding into k tokens of the UNet's cross-attention width. Those tokens ride along
with the 77 text tokens into every spatial cross-attention, where `APMMixingProcessor`
(attention.py) mixes them into the text context. The unconditional branch of guidance uses a
mid-grey image through the same path, not zero tokens.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class Resampler(nn.Module):
    """Linear(E -> H), SiLU, Linear(H -> k * D): one embedding -> k tokens (released: 1024 -> 1280 -> 16 * 1024)."""

    def __init__(self, embed_dim: int, hidden_dim: int, num_tokens: int, token_dim: int):
        super().__init__()
        self.num_tokens = num_tokens
        self.token_dim = token_dim
        # Indexes 0 and 2 are the released checkpoint's `resampler.context_embedding.{0,2}`.
        self.context_embedding = nn.Sequential(
            nn.Linear(embed_dim, hidden_dim), nn.SiLU(), nn.Linear(hidden_dim, num_tokens * token_dim)
        )

    def forward(self, embeds: torch.Tensor) -> torch.Tensor:
        tokens = self.context_embedding(embeds)  # (B, k*D)
        return tokens.reshape(embeds.shape[0], self.num_tokens, self.token_dim)  # (B, k, D)


def build_resampler(image_encoder, unet, num_tokens: int) -> Resampler:
    """Sizes from the models: CLIP projection dim -> the UNet's deepest width -> k x cross-attention dim."""
    return Resampler(
        embed_dim=image_encoder.config.projection_dim,
        hidden_dim=unet.config.block_out_channels[-1],
        num_tokens=num_tokens,
        token_dim=unet.config.cross_attention_dim,
    )


def clip_pixels(images: torch.Tensor, image_processor) -> torch.Tensor:
    """(B, 3, H, W) in [-1, 1] -> (B, 3, S, S) CLIP input (resize the short side, centre crop, CLIP mean/std).

    Done in torch (no PIL round trip), so the grey image and the anchor take the same exact path.
    """
    crop = image_processor.crop_size  # a dict or transformers' SizeDict, depending on the version
    if isinstance(crop, int):
        size = (crop, crop)
    else:
        size = (getattr(crop, "height", None) or crop["height"], getattr(crop, "width", None) or crop["width"])
    images = (images.float() + 1) / 2  # (B, 3, H, W) in [0, 1]
    height, width = images.shape[-2:]
    scale = max(size[0] / height, size[1] / width)
    resized = (max(size[0], round(height * scale)), max(size[1], round(width * scale)))
    images = F.interpolate(images, size=resized, mode="bicubic", align_corners=False, antialias=True).clamp(0, 1)
    top, left = (resized[0] - size[0]) // 2, (resized[1] - size[1]) // 2
    images = images[:, :, top: top + size[0], left: left + size[1]]  # (B, 3, S, S)
    mean = torch.tensor(image_processor.image_mean, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(image_processor.image_std, device=images.device).view(1, 3, 1, 1)
    return (images - mean) / std


def image_to_tensor(image: np.ndarray, device, dtype) -> torch.Tensor:
    """(H, W, 3) uint8 -> (1, 3, H, W) in [-1, 1]."""
    tensor = torch.from_numpy(np.ascontiguousarray(image)).to(device)
    return (tensor.permute(2, 0, 1)[None].to(dtype) / 127.5 - 1.0)


@torch.no_grad()
def anchor_tokens(anchor: torch.Tensor, image_encoder, image_processor, resampler: Resampler) -> torch.Tensor:
    """(B, 3, H, W) anchors in [-1, 1] -> (B, k, D) APM tokens."""
    param = next(image_encoder.parameters())
    pixels = clip_pixels(anchor, image_processor).to(device=param.device, dtype=param.dtype)
    embeds = image_encoder(pixel_values=pixels).image_embeds  # (B, E)
    rparam = next(resampler.parameters())
    return resampler(embeds.to(rparam.dtype))  # (B, k, D)


def grey_like(anchor: torch.Tensor) -> torch.Tensor:
    """The unconditional anchor: zeros in [-1, 1], i.e. mid-grey."""
    return torch.zeros_like(anchor)
