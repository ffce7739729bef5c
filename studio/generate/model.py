"""StreamingModel: the base UNet3D with the CAM injected and the APM mixing installed, in one forward.

Why our own forward instead of `UNet3DConditionModel.forward`: the CAM's injection is a cross-attention
whose queries are the base UNet's own skip features, which diffusers' additive residual inputs cannot
express. So this forward runs the UNet3D's blocks in the same order as diffusers does (time embedding,
conv_in, input temporal transformer, down blocks, mid block, up blocks, output) and puts one injector
on each skip feature and one after the mid block. With no CAM input it computes exactly what
`unet(sample, t, context).sample` computes (a test checks it).
"""

from __future__ import annotations

import torch
from torch import nn

from studio.generate.apm import Resampler, build_resampler
from studio.generate.attention import install_apm_processors, install_plain_processors
from studio.generate.cam import CAM, build_cam
from studio.generate.step_cache import memo
from studio.generate.timing import timed
from studio.generate.unet_parts import down_path, input_features, time_and_context


class StreamingModel(nn.Module):
    """unet (the base, with APM mixing processors), cam (encoder copy + injectors), resampler (APM MLP)."""

    def __init__(self, unet, cam: CAM, resampler: Resampler, text_tokens: int):
        super().__init__()
        self.unet = unet
        self.cam = cam
        self.resampler = resampler
        self.text_tokens = text_tokens
        self.mixing = install_apm_processors(unet, text_tokens, resampler.num_tokens)
        install_plain_processors(cam, text_tokens)  # the copy sees the text only (SPEC)

    @classmethod
    def build(cls, unet, image_encoder, vae_scale_factor: int, image_tokens: int = 16, text_tokens: int = 77):
        """A streaming model around `unet`: CAM copied from it (zero-init), fresh resampler, alpha = 0."""
        param = next(unet.parameters())
        cam = build_cam(unet, vae_scale_factor).to(device=param.device, dtype=param.dtype)
        resampler = build_resampler(image_encoder, unet, image_tokens).to(device=param.device, dtype=param.dtype)
        return cls(unet, cam, resampler, text_tokens)

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor, text_states: torch.Tensor,
                image_tokens: torch.Tensor | None = None, cond_frames: torch.Tensor | None = None) -> torch.Tensor:
        """Predict the noise.

        sample (B, C, F, h, w); timestep 0-dim tensor on the model's device; text_states (B, T, D);
        image_tokens (B, k, D) or None (text only); cond_frames (B, Fc, 3, H, W) in [-1, 1] or None (no CAM).
        """
        unet = self.unet
        batch, _, num_frames, height, width = sample.shape
        cam_skips = cam_mid = None
        if cond_frames is not None:
            num_cond = cond_frames.shape[1]
            with timed("cam"):
                # The CAM's input sample is the first Fc frames of the current noisy latent (SPEC).
                cam_skips, cam_mid = self.cam.encoder(sample[:, :, :num_cond], timestep, text_states, cond_frames)
        context = text_states if image_tokens is None else memo(
            self, (text_states, image_tokens), lambda: torch.cat([text_states, image_tokens], dim=1))  # (B, T+k, D)

        # 1. time and text, per frame
        emb, context = time_and_context(unet, sample, timestep, context)  # (B*F, E), (B*F, T(+k), D)
        # 2. pre-process
        hidden = input_features(unet, sample)  # (B*F, C0, h, w)
        # 3. down
        hidden, skips = down_path(unet, hidden, emb, context, num_frames)
        if cam_skips is not None:
            skips = [inject(base, cam, num_frames) for inject, base, cam in zip(self.cam.injectors_down, skips, cam_skips)]
        # 4. mid
        hidden = unet.mid_block(hidden, emb, encoder_hidden_states=context, num_frames=num_frames)
        if cam_mid is not None:
            hidden = self.cam.injector_mid(hidden, cam_mid, num_frames)
        # 5. up; as diffusers does, a latent that is not a multiple of the up factor (pixels not a multiple
        # of 64) gets each upsampler's output size from its skip, so odd sizes round back exactly.
        up_factor = 2 ** (len(unet.up_blocks) - 1)
        forward_size = height % up_factor != 0 or width % up_factor != 0
        for index, block in enumerate(unet.up_blocks):
            res = tuple(skips[-len(block.resnets):])
            skips = skips[: -len(block.resnets)]
            last = index == len(unet.up_blocks) - 1
            upsample_size = skips[-1].shape[2:] if forward_size and not last else None
            if getattr(block, "has_cross_attention", False):
                hidden = block(hidden_states=hidden, temb=emb, res_hidden_states_tuple=res,
                               encoder_hidden_states=context, upsample_size=upsample_size, num_frames=num_frames)
            else:
                hidden = block(hidden_states=hidden, temb=emb, res_hidden_states_tuple=res,
                               upsample_size=upsample_size, num_frames=num_frames)
        # 6. post-process
        if unet.conv_norm_out is not None:
            hidden = unet.conv_act(unet.conv_norm_out(hidden))
        hidden = unet.conv_out(hidden)  # (B*F, C, h, w)
        return hidden.reshape(batch, num_frames, *hidden.shape[1:]).permute(0, 2, 1, 3, 4)  # (B, C, F, h, w)
