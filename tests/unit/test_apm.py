"""APM: alpha = 0 is the text-only model, alpha != 0 uses the image; leaks are loud; grey is not zeros."""

from __future__ import annotations

import pytest
import torch

from studio.generate.apm import anchor_tokens, clip_pixels
from studio.generate.attention import APMMixingProcessor, ImageTokensLeakError, spatial_cross_attentions
from studio.generate.model import StreamingModel
from studio.models import tiny as tiny_models


@pytest.fixture(scope="module")
def model():
    return StreamingModel.build(tiny_models.unet3d(), tiny_models.clip_vision(), vae_scale_factor=2)


@pytest.fixture(scope="module")
def inputs():
    generator = torch.Generator().manual_seed(3)
    return (torch.randn(2, 4, 16, 8, 8, generator=generator), torch.randn(2, 77, 32, generator=generator),
            torch.randn(2, 16, 32, generator=generator))


def test_every_spatial_cross_attention_mixes(model):
    layers = spatial_cross_attentions(model.unet)
    assert len(layers) == 4  # 1 down, 1 mid, 2 up in the tiny UNet (16 in the real one)
    assert all(isinstance(layer.processor, APMMixingProcessor) for _, layer in layers)
    assert len(model.mixing) == 4


def test_alpha_zero_is_the_text_only_model_and_alpha_nonzero_changes_it(model, inputs):
    sample, text, image = inputs
    t = torch.tensor(300)
    with torch.no_grad():
        text_only = model(sample, t, text)
        with_image = model(sample, t, text, image_tokens=image)
        assert torch.equal(with_image, text_only)
        try:
            for processor in model.mixing:
                processor.alpha.fill_(1.5)
            mixed = model(sample, t, text, image_tokens=image)
            other = model(sample, t, text, image_tokens=-image)
        finally:
            for processor in model.mixing:
                processor.alpha.zero_()
    assert (mixed - text_only).abs().max() > 1e-4
    assert (mixed - other).abs().max() > 1e-5


def test_image_tokens_reaching_a_plain_processor_fail_loudly(model, inputs):
    sample, text, image = inputs
    with pytest.raises(ImageTokensLeakError, match="non-mixing"):
        with torch.no_grad():  # the CAM copy is text-only: give it 93 tokens
            model.cam.encoder(sample[:, :, :8], torch.tensor(1), torch.cat([text, image], 1), torch.zeros(2, 8, 3, 16, 16))


def test_wrong_token_count_is_an_error(model):
    processor = model.mixing[0]
    with pytest.raises(Exception, match="context tokens"):
        processor.mix(torch.zeros(1, 80, 32))


def test_grey_anchor_gives_real_tokens_that_differ_from_an_image(model):
    encoder, processor = tiny_models.clip_vision(), tiny_models.clip_image_processor()
    anchors = torch.stack([torch.zeros(3, 32, 32), torch.rand(3, 32, 32) * 2 - 1])
    tokens = anchor_tokens(anchors, encoder, processor, model.resampler)
    assert tokens.shape == (2, 16, 32)
    assert tokens[0].abs().sum() > 0  # mid-grey through the encoder, not zero tokens
    assert (tokens[0] - tokens[1]).abs().max() > 1e-5
    pixels = clip_pixels(torch.zeros(1, 3, 64, 48), processor)
    assert pixels.shape == (1, 3, 32, 32)


def test_real_apm_sizes_on_the_meta_device():
    from diffusers import UNet3DConditionModel
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    with torch.device("meta"):
        unet = UNet3DConditionModel()
        clip = CLIPVisionModelWithProjection(CLIPVisionConfig(
            hidden_size=1280, intermediate_size=5120, num_hidden_layers=2, num_attention_heads=16, patch_size=14,
            image_size=224, projection_dim=1024))
        model = StreamingModel.build(unet, clip, vae_scale_factor=8)
    assert len(model.mixing) == 16
    first = model.resampler.context_embedding
    assert (first[0].in_features, first[0].out_features, first[2].out_features) == (1024, 1280, 16 * 1024)
    assert model.mixing[0].conv.in_channels == 93 and model.mixing[0].conv.out_channels == 77


@pytest.mark.parametrize("alpha", [0.7, -2.0])
def test_mixing_is_text_plus_silu_alpha_times_the_normalised_conv(alpha):
    """A value test away from alpha = 0: context = text + SiLU(alpha) * LayerNorm(Conv1d(tokens)).

    Catches a tanh(alpha) (or any other) gate, which agrees with SiLU at alpha = 0 only, and a mix that
    drops the LayerNorm or the text residual."""
    torch.manual_seed(0)
    processor = APMMixingProcessor(text_tokens=77, image_tokens=16, context_dim=32)
    with torch.no_grad():
        processor.alpha.fill_(alpha)
        processor.conv_ln.weight.normal_()
        processor.conv_ln.bias.normal_()
    context = torch.randn(2, 93, 32)
    conv = torch.nn.functional.conv1d(context, processor.conv.weight, processor.conv.bias, padding=1)  # (2, 77, 32)
    normed = torch.nn.functional.layer_norm(conv, (32,), processor.conv_ln.weight, processor.conv_ln.bias, eps=1e-5)
    gate = alpha * (1 / (1 + torch.exp(torch.tensor(-alpha))))  # SiLU written out
    expected = context[:, :77] + gate * normed
    with torch.no_grad():
        mixed = processor.mix(context)
    assert mixed.shape == (2, 77, 32)
    assert torch.allclose(mixed, expected, atol=1e-5), float((mixed - expected).abs().max())


def _contexts_seen_by_spatial_cross_attentions(model, run):
    """Run `run()` with a pre-hook on every attn2 of every Transformer2DModel; name -> context it got."""
    seen, handles = {}, []
    for name, layer in spatial_cross_attentions(model.unet):
        def keep(module, args, kwargs, name=name):
            seen[name] = kwargs.get("encoder_hidden_states")
        handles.append(layer.register_forward_pre_hook(keep, with_kwargs=True))
    try:
        run()
    finally:
        for handle in handles:
            handle.remove()
    return seen


def test_every_spatial_cross_attention_receives_the_anchor_tokens(model, inputs):
    """Each spatial cross-attention, the mid block's included, is called with text + the APM tokens.

    Catches a forward that gives one block (the mid block, say) the text-only context: the official APM
    mixes the anchor into all of them, so that layer would silently ignore the anchor."""
    sample, text, image = inputs
    names = [name for name, _ in spatial_cross_attentions(model.unet)]
    assert any(name.startswith("mid_block.") for name in names)
    with torch.no_grad():
        seen = _contexts_seen_by_spatial_cross_attentions(
            model, lambda: model(sample, torch.tensor(300), text, image_tokens=image))
    assert sorted(seen) == sorted(names)
    frames = sample.shape[2]
    for name, context in seen.items():
        assert context is not None and context.shape[1] == 77 + 16, name
        assert torch.equal(context[:, 77:], image.repeat_interleave(frames, dim=0)), name  # every frame, its sample's anchor
        assert torch.equal(context[:, :77], text.repeat_interleave(frames, dim=0)), name


def test_all_sixteen_cross_attentions_of_the_real_unet_receive_the_anchor_tokens():
    """The official configuration (on the meta device: shapes only): 16 spatial cross-attentions, one in
    the mid block, each called with 77 + 16 tokens. Catches the mid block (or any block) left text-only."""
    from diffusers import UNet3DConditionModel
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    with torch.device("meta"):
        unet = UNet3DConditionModel()
        clip = CLIPVisionModelWithProjection(CLIPVisionConfig(
            hidden_size=64, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, patch_size=14,
            image_size=224, projection_dim=1024))
        model = StreamingModel.build(unet, clip, vae_scale_factor=8)
        sample = torch.zeros(1, 4, 2, 8, 8)
        text, image = torch.zeros(1, 77, 1024), torch.zeros(1, 16, 1024)
        with torch.no_grad():
            seen = _contexts_seen_by_spatial_cross_attentions(
                model, lambda: model(sample, torch.tensor(300), text, image_tokens=image))
    assert len(seen) == 16 and sum(name.startswith("mid_block.") for name in seen) == 1
    assert {tuple(context.shape[1:]) for context in seen.values()} == {(93, 1024)}
