"""The LTX-Video parts, made the way the preset's `models.backend` says, and cached like every model.

- tiny    every part built in code with random weights from a fixed seed (tests, CI; no Hub): the same
          classes and the same 32x spatial / 8x temporal VAE ratios as the real model, a few thousand
          weights each, and a T5 tokenizer built in code (bytes as tokens) so no file is downloaded.
- hub     `from_pretrained` from models.ltx_model (diffusers layout) and models.ltx_upsampler, at their revisions.
- random  the full-size architecture (the `ltx` preset's: LTX-Video 13B, T5-XXL) built on the meta device and
          materialised on the GPU with random weights: the benchmark, where the Hub is out of reach.
"""

from __future__ import annotations

from typing import Any, Callable

from studio.config import Preset
from studio.errors import ModelUnavailableError, StudioError, first_line

PARTS = ("tokenizer", "text_encoder", "transformer", "vae", "upsampler")

TINY_TEXT_DIM = 16
TINY_LATENT_CHANNELS = 8
TINY_SEED = 100

# The full-size architecture of LTX-Video 0.9.7/0.9.8 13B (the ltx preset's model) and its T5-XXL encoder.
FULL_TRANSFORMER = dict(in_channels=128, out_channels=128, num_attention_heads=32, attention_head_dim=128,
                        cross_attention_dim=4096, num_layers=48, caption_channels=4096)
FULL_T5 = dict(vocab_size=32128, d_model=4096, d_kv=64, d_ff=10240, num_layers=24, num_heads=64,
               feed_forward_proj="gated-gelu", is_encoder_decoder=False)


def get_part(preset: Preset, part: str) -> Any:
    """The LTX part `part` (one of PARTS) for this preset, built once and shared (studio.models.cache)."""
    from studio.models.cache import cached

    if part not in PARTS:
        raise StudioError(f"unknown LTX part {part!r} (known: {', '.join(PARTS)})")
    if preset.models.family != "ltx":
        raise StudioError(f"preset {preset.name!r} is not an LTX-Video preset (models.family: {preset.models.family})")
    m = preset.models
    backend = m.backend
    if backend == "tiny":
        builder = lambda: _placed(preset, _TINY[part]())  # noqa: E731
    elif backend == "random":
        builder = lambda: _random(preset, part)  # noqa: E731
    elif backend == "hub":
        builder = lambda: _hub(preset, part)  # noqa: E731
    else:
        raise StudioError(f"preset {preset.name!r}: an LTX-Video preset needs models.backend tiny, hub or random, not {backend!r}")
    source = m.ltx_upsampler + "@" + m.ltx_upsampler_revision if part == "upsampler" else m.ltx_model + "@" + m.ltx_revision
    return cached(preset, f"ltx_{part}:{source}", builder)


# ----------------------------------------------------------------------------- tiny


def _seeded(offset: int) -> None:
    import torch

    torch.manual_seed(TINY_SEED + offset)


def tiny_tokenizer() -> Any:
    """A T5-style tokenizer built in code: every byte is a token, `</s>` is appended, `<pad>` is id 0."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    from studio.models.tiny import _bytes_to_unicode

    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2}
    for char in _bytes_to_unicode().values():
        vocab[char] = len(vocab)
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                                   model_max_length=512)


def tiny_text_encoder() -> Any:
    from transformers import T5Config, T5EncoderModel

    _seeded(1)
    config = T5Config(vocab_size=len(tiny_tokenizer()), d_model=TINY_TEXT_DIM, d_kv=8, d_ff=32, num_layers=1, num_heads=2,
                      relative_attention_num_buckets=8, is_encoder_decoder=False, pad_token_id=0, eos_token_id=1)
    return T5EncoderModel(config).eval()


def tiny_transformer() -> Any:
    from diffusers import LTXVideoTransformer3DModel

    _seeded(2)
    return LTXVideoTransformer3DModel(
        in_channels=TINY_LATENT_CHANNELS, out_channels=TINY_LATENT_CHANNELS, patch_size=1, patch_size_t=1,
        num_attention_heads=2, attention_head_dim=8, cross_attention_dim=16, num_layers=1,
        caption_channels=TINY_TEXT_DIM,
    ).eval()


def tiny_vae() -> Any:
    """Four levels with patch size 4 and three space-time downsamplings: 32x spatial, 8x temporal, as the real one."""
    from diffusers import AutoencoderKLLTXVideo

    _seeded(3)
    return AutoencoderKLLTXVideo(
        in_channels=3, out_channels=3, latent_channels=TINY_LATENT_CHANNELS, block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8), layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1), spatio_temporal_scaling=(True, True, True, False),
        decoder_spatio_temporal_scaling=(True, True, True, False), decoder_inject_noise=(False,) * 5,
        upsample_residual=(False,) * 4, upsample_factor=(1,) * 4, timestep_conditioning=False,
        patch_size=4, patch_size_t=1, encoder_causal=True, decoder_causal=False,
    ).eval()


def tiny_upsampler() -> Any:
    from diffusers.pipelines.ltx.modeling_latent_upsampler import LTXLatentUpsamplerModel

    _seeded(4)
    return LTXLatentUpsamplerModel(in_channels=TINY_LATENT_CHANNELS, mid_channels=32, num_blocks_per_stage=1, dims=3,
                                   spatial_upsample=True, temporal_upsample=False).eval()


_TINY: dict[str, Callable[[], Any]] = {
    "tokenizer": tiny_tokenizer, "text_encoder": tiny_text_encoder, "transformer": tiny_transformer,
    "vae": tiny_vae, "upsampler": tiny_upsampler,
}


def _placed(preset: Preset, part: Any) -> Any:
    from studio.models.cache import _place

    return _place(part, preset)


# ----------------------------------------------------------------------------- random (benchmark)


def full_size_on_meta(part: str) -> Any:
    """The full-size part with no memory behind it (the meta device); diffusers' default VAE and upsampler."""
    import torch

    if part == "tokenizer":
        return tiny_tokenizer()  # token ids are all that matter for speed
    with torch.device("meta"):
        if part == "transformer":
            from diffusers import LTXVideoTransformer3DModel

            return LTXVideoTransformer3DModel(**FULL_TRANSFORMER)
        if part == "vae":
            from diffusers import AutoencoderKLLTXVideo

            return AutoencoderKLLTXVideo()
        if part == "upsampler":
            from diffusers.pipelines.ltx.modeling_latent_upsampler import LTXLatentUpsamplerModel

            return LTXLatentUpsamplerModel()
        from transformers import T5Config, T5EncoderModel

        return T5EncoderModel(T5Config(**FULL_T5))


def _random(preset: Preset, part: str) -> Any:
    import torch

    from studio.models.cache import device_for, dtype_for
    from studio.models.random_weights import materialise

    module = full_size_on_meta(part)
    if part == "tokenizer":
        return module
    module = materialise(module, device_for(preset), dtype_for(preset), seed=PARTS.index(part))
    if part == "vae":  # buffers are not weights: to_empty left them uninitialised
        with torch.no_grad():
            module.latents_mean.zero_()
            module.latents_std.fill_(1.0)
    return module


# ----------------------------------------------------------------------------- hub


def _hub(preset: Preset, part: str) -> Any:
    from studio.models.cache import _place, dtype_for

    m = preset.models
    try:
        if part == "tokenizer":
            from transformers import AutoTokenizer

            return AutoTokenizer.from_pretrained(m.ltx_model, subfolder="tokenizer", revision=m.ltx_revision)
        if part == "text_encoder":
            from transformers import T5EncoderModel

            return _place(T5EncoderModel.from_pretrained(m.ltx_model, subfolder="text_encoder", revision=m.ltx_revision,
                                                         dtype=dtype_for(preset)), preset).eval()
        import diffusers

        if part == "upsampler":
            from diffusers.pipelines.ltx.modeling_latent_upsampler import LTXLatentUpsamplerModel

            model = LTXLatentUpsamplerModel.from_pretrained(m.ltx_upsampler, subfolder="latent_upsampler",
                                                            revision=m.ltx_upsampler_revision, torch_dtype=dtype_for(preset))
        else:
            cls = diffusers.LTXVideoTransformer3DModel if part == "transformer" else diffusers.AutoencoderKLLTXVideo
            model = cls.from_pretrained(m.ltx_model, subfolder=part, revision=m.ltx_revision, torch_dtype=dtype_for(preset))
        return _place(model, preset).eval()
    except (OSError, ValueError, ImportError) as error:
        model_id = m.ltx_upsampler if part == "upsampler" else m.ltx_model
        raise ModelUnavailableError(
            f"could not load the LTX-Video {part} from {model_id!r} for preset {preset.name!r} ({first_line(error, 200)}); "
            "check the network or the Hugging Face cache, or use --preset tiny-ltx (offline)"
        ) from None
