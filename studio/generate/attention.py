"""Our attention processors for the UNet3D: plain SDPA, and SDPA with the APM token mixing.

The official code mixes the anchor's image tokens into the text tokens only inside an xformers
processor; without xformers the mixing was silently skipped and the image tokens were attended to
as if they were text. Here every attention of the streaming model gets one of our processors:

- `SDPAProcessor` (self-attention, temporal attention, the CAM copy) refuses any context longer than
  the text (`ImageTokensLeakError`), so image tokens can never reach it unnoticed.
- `APMMixingProcessor` (every spatial cross-attention of the base UNet) owns the learnable mixing:
  `context = text + SiLU(alpha) * LayerNorm(Conv1d(T+k -> T)(tokens))`. With a text-only context it
  attends to the text as is.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from studio.errors import StudioError
from studio.generate.step_cache import memo


class ImageTokensLeakError(StudioError):
    """Image tokens reached an attention layer that does not mix them (a wiring bug)."""


def _cross_key_value(attn, context: torch.Tensor, prepare=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Keys and values of a cross-attention's context (after the APM mixing `prepare`, if any)."""
    if prepare is not None:
        context = prepare(context)  # (B, T+k, D) -> (B, T, D)
    if attn.norm_cross:
        context = attn.norm_encoder_hidden_states(context)
    return attn.to_k(context), attn.to_v(context)  # 2 x (B, T, C)


def _sdpa(attn, hidden_states: torch.Tensor, context: torch.Tensor | None, attention_mask=None,
          owner: object = None, prepare=None) -> torch.Tensor:
    """The core of diffusers' Attention with torch's scaled_dot_product_attention.

    A cross-attention's keys and values depend on the context alone, so they are computed once per
    chunk (step_cache.memo, keyed by `owner`, the processor) when the sampler opens a memo.
    """
    residual = hidden_states
    input_ndim = hidden_states.ndim
    if input_ndim == 4:
        batch, channels, height, width = hidden_states.shape
        hidden_states = hidden_states.view(batch, channels, height * width).transpose(1, 2)  # (B, HW, C)
    batch = hidden_states.shape[0]
    if attn.group_norm is not None:
        hidden_states = attn.group_norm(hidden_states.transpose(1, 2)).transpose(1, 2)
    query = attn.to_q(hidden_states)
    if context is None:  # self-attention: keys and values change with every step
        key, value = attn.to_k(hidden_states), attn.to_v(hidden_states)
    else:
        key, value = memo(owner, (context, attn), lambda: _cross_key_value(attn, context, prepare))
    if attention_mask is not None:
        attention_mask = attn.prepare_attention_mask(attention_mask, key.shape[1], batch)
        attention_mask = attention_mask.view(batch, attn.heads, -1, attention_mask.shape[-1])
    head_dim = key.shape[-1] // attn.heads
    query = query.view(batch, -1, attn.heads, head_dim).transpose(1, 2)  # (B, heads, N, d)
    key = key.view(batch, -1, attn.heads, head_dim).transpose(1, 2)  # (B, heads, M, d)
    value = value.view(batch, -1, attn.heads, head_dim).transpose(1, 2)
    out = F.scaled_dot_product_attention(query, key, value, attn_mask=attention_mask, scale=attn.scale)
    out = out.transpose(1, 2).reshape(batch, -1, attn.heads * head_dim).to(query.dtype)  # (B, N, C)
    out = attn.to_out[1](attn.to_out[0](out))
    if input_ndim == 4:
        out = out.transpose(-1, -2).reshape(batch, channels, height, width)
    if attn.residual_connection:
        out = out + residual
    return out / attn.rescale_output_factor


class SDPAProcessor:
    """Plain SDPA attention; raises if a context longer than the text (image tokens) arrives."""

    def __init__(self, text_tokens: int, where: str = ""):
        self.text_tokens = text_tokens
        self.where = where

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kwargs):
        if encoder_hidden_states is not None and encoder_hidden_states.shape[1] > self.text_tokens:
            raise ImageTokensLeakError(
                f"{encoder_hidden_states.shape[1]} context tokens reached the non-mixing attention {self.where or '?'} "
                f"(at most {self.text_tokens} text tokens allowed); APM image tokens must go through APMMixingProcessor"
            )
        return _sdpa(attn, hidden_states, encoder_hidden_states, attention_mask, owner=self)


class APMMixingProcessor(nn.Module):
    """SDPA cross-attention whose context is the text mixed with the APM image tokens.

    Parameter names follow the released checkpoint's `attn2.conv`, `attn2.conv_ln`, `attn2.alpha`
    (here under `attn2.processor.`, because the processor owns them).
    """

    def __init__(self, text_tokens: int, image_tokens: int, context_dim: int):
        super().__init__()
        self.text_tokens = text_tokens
        self.image_tokens = image_tokens
        # Tokens are the Conv1d channels: (T + k) tokens in, T tokens out, a window of 3 feature positions.
        self.conv = nn.Conv1d(text_tokens + image_tokens, text_tokens, kernel_size=3, padding=1)
        self.conv_ln = nn.LayerNorm(context_dim)
        self.alpha = nn.Parameter(torch.zeros(()))  # SiLU(0) = 0: exactly the text-only model at init

    def mix(self, context: torch.Tensor) -> torch.Tensor:
        """(B, T + k, D) text + image tokens -> (B, T, D) mixed context; (B, T, D) passes through."""
        tokens = context.shape[1]
        if tokens == self.text_tokens:
            return context
        if tokens != self.text_tokens + self.image_tokens:
            raise StudioError(
                f"APM attention got {tokens} context tokens; expected {self.text_tokens} (text) or "
                f"{self.text_tokens + self.image_tokens} (text + image)"
            )
        text = context[:, : self.text_tokens]  # (B, T, D)
        mixed = self.conv_ln(self.conv(context))  # (B, T+k, D) -> (B, T, D)
        return text + F.silu(self.alpha) * mixed

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kwargs):
        # nn.Module.__call__ would run forward(); the Attention layer calls processor(attn, ...).
        # The mixing runs inside the memoised key/value computation: once per chunk, not once per step.
        return _sdpa(attn, hidden_states, encoder_hidden_states, attention_mask, owner=self, prepare=self.mix)


def spatial_cross_attentions(unet) -> list[tuple[str, object]]:
    """(name, Attention) of every spatial cross-attention (attn2 inside a Transformer2DModel)."""
    from diffusers.models.transformers.transformer_2d import Transformer2DModel

    found = []
    for name, module in unet.named_modules():
        if isinstance(module, Transformer2DModel):
            for block_index, block in enumerate(module.transformer_blocks):
                if getattr(block, "attn2", None) is not None:
                    found.append((f"{name}.transformer_blocks.{block_index}.attn2", block.attn2))
    return found


def install_plain_processors(module, text_tokens: int) -> None:
    """Give every attention layer of `module` our plain SDPA processor (replacing any other)."""
    from diffusers.models.attention_processor import Attention

    for name, layer in module.named_modules():
        if isinstance(layer, Attention):
            layer.set_processor(SDPAProcessor(text_tokens, name))


def install_apm_processors(unet, text_tokens: int, image_tokens: int) -> list[APMMixingProcessor]:
    """Plain processors everywhere, mixing processors in the spatial cross-attentions; returns the latter.

    Idempotent: a UNet that already has mixing processors keeps them (and their weights).
    """
    from diffusers.models.attention_processor import Attention

    mixing_layers = dict(spatial_cross_attentions(unet))
    installed = []
    for name, layer in unet.named_modules():
        if not isinstance(layer, Attention):
            continue
        if name in mixing_layers:
            if not isinstance(layer.processor, APMMixingProcessor):
                param = layer.to_k.weight
                processor = APMMixingProcessor(text_tokens, image_tokens, layer.to_k.in_features)
                layer.set_processor(processor.to(device=param.device, dtype=param.dtype))
            installed.append(layer.processor)
        else:
            layer.set_processor(SDPAProcessor(text_tokens, name))
    return installed
