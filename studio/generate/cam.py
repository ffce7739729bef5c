"""CAM, the Conditional Attention Module (short-term memory): SPEC §1 "CAM".

Three parts:

- `FrameEncoder` (E_cond): the previous chunk's last frames in pixel space -> features at the latent
  size, with a zero-initialised output conv. One stride-2 stage per VAE downsampling (3 for the real
  VAE: 256² -> 32²); widths 32 -> 96 -> 256 -> 512 -> 320 for the real UNet, scaled for smaller ones.
- `CAMEncoder`: a trainable copy of the base UNet3D's encoder (conv_in, time embedding, input temporal
  transformer, down blocks, mid block) with its weights copied. Module names follow the released
  checkpoint (`unet.conv_in`, `unet.controlnet_cond_embedding.blocks.0`, ...).
- `TemporalCrossAttentionInjector`: per pixel, the base UNet's frames attend to the CAM's frames; the
  output projection is zero-initialised, so an untrained CAM is an exact no-op.

How it is wired into the base UNet: not through diffusers' `down_block_additional_residuals` (those
are added blindly, but the injection needs the base feature as its query), but by StreamingModel
(model.py), which runs the UNet3D's own blocks and applies one injector per skip and one after the
mid block.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from studio.generate.step_cache import memo
from studio.generate.unet_parts import down_path, input_features, time_and_context

# The real UNet's frame-encoder widths (SPEC): conv_in 3->32, stages 32->96->256->512, out 512->320.
REAL_ENCODER_WIDTHS = (32, 96, 256, 512)
REAL_BASE_CHANNELS = 320


def skip_channels(unet) -> list[int]:
    """Channels of the UNet3D's skip features, in order: conv_in, then each down block's resnets and
    downsampler (12 for the real UNet: 320, 320, 320, 320, 640, 640, 640, 1280, 1280, 1280, 1280, 1280)."""
    cfg = unet.config
    channels = [cfg.block_out_channels[0]]
    for index, width in enumerate(cfg.block_out_channels):
        channels += [width] * cfg.layers_per_block
        if index < len(cfg.block_out_channels) - 1:
            channels.append(width)
    return channels


def frame_encoder_widths(base_channels: int, num_stages: int) -> list[int]:
    """conv_in width followed by each stage's output width; the real config gives (32, 96, 256, 512)."""
    scale = base_channels / REAL_BASE_CHANNELS
    widths = [max(8, int(math.ceil(w * scale / 8)) * 8) for w in REAL_ENCODER_WIDTHS]
    if num_stages <= 3:
        return widths[:1] + widths[len(widths) - num_stages:]
    return widths + [widths[-1]] * (num_stages - 3)


class FrameEncoder(nn.Module):
    """E_cond: (N, 3, H, W) frames in [-1, 1] -> (N, C0, H/s, W/s) features added after conv_in."""

    def __init__(self, out_channels: int, num_stages: int, in_channels: int = 3):
        super().__init__()
        widths = frame_encoder_widths(out_channels, num_stages)
        self.conv_in = nn.Conv2d(in_channels, widths[0], kernel_size=3, padding=1)
        blocks = []
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            blocks.append(nn.Conv2d(c_in, c_in, kernel_size=3, padding=1))
            blocks.append(nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, stride=2))
        self.blocks = nn.ModuleList(blocks)  # names blocks.0 .. blocks.5 as in the released weights
        self.conv_out = nn.Conv2d(widths[-1], out_channels, kernel_size=3, padding=1)
        nn.init.zeros_(self.conv_out.weight)  # zero init: the CAM starts as a no-op
        nn.init.zeros_(self.conv_out.bias)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        hidden = F.silu(self.conv_in(frames))  # (N, w0, H, W)
        for block in self.blocks:
            hidden = F.silu(block(hidden))  # every second conv halves H and W
        return self.conv_out(hidden)  # (N, C0, H/s, W/s)


class CAMEncoder(nn.Module):
    """The trainable copy of the UNet3D encoder plus the frame encoder.

    forward(sample (B, C, Fc, h, w) = the first Fc frames of the noisy latent, timestep, text states
    (B, T, D), frames (B, Fc, 3, H, W) in [-1, 1]) -> (skips: list of (B*Fc, C_i, h_i, w_i), mid).
    """

    def __init__(self, unet, num_downsamplings: int):
        super().__init__()
        # Deep copies: the copy is trained separately from the (frozen) base.
        self.conv_in = copy.deepcopy(unet.conv_in)
        self.time_proj = copy.deepcopy(unet.time_proj)
        self.time_embedding = copy.deepcopy(unet.time_embedding)
        self.transformer_in = copy.deepcopy(unet.transformer_in)
        self.down_blocks = copy.deepcopy(unet.down_blocks)
        self.mid_block = copy.deepcopy(unet.mid_block)
        self.controlnet_cond_embedding = FrameEncoder(unet.config.block_out_channels[0], num_downsamplings)

    def forward(self, sample, timestep, text_states, frames):
        batch, _, num_frames = sample.shape[:3]
        emb, context = time_and_context(self, sample, timestep, text_states)  # (B*Fc, E), (B*Fc, T, D)
        hidden = input_features(self, sample)  # (B*Fc, C0, h, w)
        # The conditioning frames are the same at every step: encoded once per chunk.
        features = memo(self.controlnet_cond_embedding, (frames,), lambda: self.controlnet_cond_embedding(
            frames.reshape(batch * num_frames, *frames.shape[2:])))  # (B*Fc, 3, H, W) -> (B*Fc, C0, h, w)
        hidden = hidden + features  # the condition enters here (SPEC)
        hidden, skips = down_path(self, hidden, emb, context, num_frames)
        hidden = self.mid_block(hidden, emb, encoder_hidden_states=context, num_frames=num_frames)
        return skips, hidden


class _CrossAttention(nn.Module):
    """Multi-head attention with the released weights' layout (to_q/to_k/to_v without bias, to_out.0)."""

    def __init__(self, channels: int, head_dim: int):
        super().__init__()
        self.heads = max(1, channels // head_dim)
        self.to_q = nn.Linear(channels, channels, bias=False)
        self.to_k = nn.Linear(channels, channels, bias=False)
        self.to_v = nn.Linear(channels, channels, bias=False)
        self.to_out = nn.ModuleList([nn.Linear(channels, channels)])

    def forward(self, query_states: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        n, q_len, channels = query_states.shape
        d = channels // self.heads
        q = self.to_q(query_states).view(n, q_len, self.heads, d).transpose(1, 2)  # (N, heads, F, d)
        k = self.to_k(context).view(n, -1, self.heads, d).transpose(1, 2)  # (N, heads, Fc, d)
        v = self.to_v(context).view(n, -1, self.heads, d).transpose(1, 2)
        out = F.scaled_dot_product_attention(q, k, v)  # (N, heads, F, d)
        return self.to_out[0](out.transpose(1, 2).reshape(n, q_len, channels))  # (N, F, C)


class TemporalCrossAttentionInjector(nn.Module):
    """Per pixel: the base feature's F frames attend to the CAM feature's Fc frames; zero-init output."""

    def __init__(self, channels: int, norm_groups: int, head_dim: int = 64):
        super().__init__()
        self.norm = nn.GroupNorm(norm_groups, channels, eps=1e-6)
        self.proj_in = nn.Linear(channels, channels)
        self.attention = _CrossAttention(channels, min(head_dim, channels))
        self.proj_out = nn.Linear(channels, channels)
        nn.init.zeros_(self.proj_out.weight)
        nn.init.zeros_(self.proj_out.bias)

    def forward(self, base: torch.Tensor, cam: torch.Tensor, num_frames: int) -> torch.Tensor:
        """base (B*F, C, h, w), cam (B*Fc, C, h, w) -> base + injected residual, (B*F, C, h, w)."""
        bf, channels, height, width = base.shape
        batch = bf // num_frames
        x = base.reshape(batch, num_frames, channels, height, width).permute(0, 2, 1, 3, 4)  # (B, C, F, h, w)
        x = self.norm(x).permute(0, 3, 4, 2, 1).reshape(batch * height * width, num_frames, channels)  # (BHW, F, C)
        cond_frames = cam.shape[0] // batch
        context = cam.reshape(batch, cond_frames, channels, height, width).permute(0, 3, 4, 1, 2)
        context = context.reshape(batch * height * width, cond_frames, channels)  # (BHW, Fc, C)
        residual = self.proj_out(self.attention(self.proj_in(x), context))  # (BHW, F, C)
        residual = residual.reshape(batch, height, width, num_frames, channels).permute(0, 3, 4, 1, 2)
        return base + residual.reshape(bf, channels, height, width)  # (B*F, C, h, w)


class CAM(nn.Module):
    """The whole CAM: the encoder copy (`unet.` in the released weights) and the injectors
    (`base_model.cross_attention_merger_*` there)."""

    def __init__(self, unet, num_downsamplings: int):
        super().__init__()
        self.encoder = CAMEncoder(unet, num_downsamplings)
        groups = unet.config.norm_num_groups
        self.injectors_down = nn.ModuleList(TemporalCrossAttentionInjector(c, groups) for c in skip_channels(unet))
        self.injector_mid = TemporalCrossAttentionInjector(unet.config.block_out_channels[-1], groups)


def build_cam(unet, vae_scale_factor: int) -> CAM:
    """A CAM for this UNet: its encoder copied, E_cond with log2(vae_scale_factor) stride-2 stages."""
    stages = int(round(math.log2(vae_scale_factor)))
    if 2**stages != vae_scale_factor:
        raise ValueError(f"VAE scale factor {vae_scale_factor} is not a power of two")
    return CAM(unet, stages)
