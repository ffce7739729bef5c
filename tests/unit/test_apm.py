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
