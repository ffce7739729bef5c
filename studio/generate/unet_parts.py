"""The UNet3D encoder's steps, shared by the base model's forward (model.py) and the CAM's copy (cam.py).

Both hold diffusers' modules under the same names (time_proj, time_embedding, conv_in, transformer_in,
down_blocks), and both must run them in exactly the order UNet3DConditionModel.forward does, so that
with no CAM input our forward equals diffusers' bit for bit.
"""

from __future__ import annotations

import torch

from studio.generate.step_cache import memo


def time_and_context(module, sample: torch.Tensor, timestep: torch.Tensor, context: torch.Tensor):
    """Time embedding and text context, repeated per frame: ((B*F, E), (B*F, T, D))."""
    batch, num_frames = sample.shape[0], sample.shape[2]
    timesteps = timestep.reshape(-1).expand(batch)
    emb = module.time_embedding(module.time_proj(timesteps).to(dtype=sample.dtype))  # (B, E)
    emb = emb.repeat_interleave(num_frames, dim=0)  # (B*F, E)
    # Same object at every step of a chunk, so the attentions' memoised keys and values match it.
    context = memo(module, (context, num_frames), lambda: context.repeat_interleave(num_frames, dim=0))  # (B*F, T, D)
    return emb, context


def input_features(module, sample: torch.Tensor) -> torch.Tensor:
    """conv_in and the input temporal transformer: (B, C, F, h, w) -> (B*F, C0, h, w)."""
    batch, _, num_frames, height, width = sample.shape
    hidden = sample.permute(0, 2, 1, 3, 4).reshape(batch * num_frames, -1, height, width)  # (B*F, C, h, w)
    hidden = module.conv_in(hidden)  # (B*F, C0, h, w)
    return module.transformer_in(hidden, num_frames=num_frames, return_dict=False)[0]


def down_path(module, hidden: torch.Tensor, emb: torch.Tensor, context: torch.Tensor, num_frames: int):
    """The down blocks: (the last hidden state, every skip feature starting with `hidden`)."""
    skips = [hidden]
    for block in module.down_blocks:
        if getattr(block, "has_cross_attention", False):
            hidden, res = block(hidden_states=hidden, temb=emb, encoder_hidden_states=context, num_frames=num_frames)
        else:
            hidden, res = block(hidden_states=hidden, temb=emb, num_frames=num_frames)
        skips.extend(res)
    return hidden, skips
