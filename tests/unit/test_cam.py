"""CAM: zero-init no-op, the injectors' wiring, the frame encoder's shapes, the real configuration."""

from __future__ import annotations

import pytest
import torch

from studio.generate.cam import FrameEncoder, frame_encoder_widths, skip_channels
from studio.generate.model import StreamingModel
from studio.models import tiny as tiny_models


@pytest.fixture(scope="module")
def parts():
    unet = tiny_models.unet3d()
    model = StreamingModel.build(unet, tiny_models.clip_vision(), vae_scale_factor=2)
    generator = torch.Generator().manual_seed(0)
    sample = torch.randn(2, 4, 16, 8, 8, generator=generator)  # (B, C, F, h, w)
    text = torch.randn(2, 77, 32, generator=generator)
    frames = torch.rand(2, 8, 3, 16, 16, generator=generator) * 2 - 1  # (B, Fc, 3, H, W)
    return unet, model, sample, text, frames


def test_zero_init_cam_leaves_the_base_unet_output_unchanged(parts):
    unet, model, sample, text, frames = parts
    t = torch.tensor(500)
    with torch.no_grad():
        reference = unet(sample, t, text).sample
        without_cam = model(sample, t, text)
        with_cam = model(sample, t, text, cond_frames=frames)
    assert torch.equal(without_cam, reference)  # our forward == diffusers' forward
    assert torch.equal(with_cam, reference)  # zero-init output projections: an exact no-op


def test_trained_cam_changes_the_output_and_depends_on_the_frames(parts):
    unet, _, sample, text, frames = parts
    model = StreamingModel.build(tiny_models.unet3d(), tiny_models.clip_vision(), vae_scale_factor=2)
    torch.manual_seed(1)
    for injector in [*model.cam.injectors_down, model.cam.injector_mid]:
        torch.nn.init.normal_(injector.proj_out.weight, std=0.2)
    torch.nn.init.normal_(model.cam.encoder.controlnet_cond_embedding.conv_out.weight, std=0.2)
    t = torch.tensor(500)
    with torch.no_grad():
        reference = model(sample, t, text)
        a = model(sample, t, text, cond_frames=frames)
        b = model(sample, t, text, cond_frames=-frames)
    assert (a - reference).abs().max() > 1e-4
    assert (a - b).abs().max() > 1e-5


def test_injector_count_and_channels_follow_the_unet(parts):
    unet, model, *_ = parts
    assert skip_channels(unet) == [32, 32, 32, 64]
    assert [inj.norm.num_channels for inj in model.cam.injectors_down] == [32, 32, 32, 64]
    assert model.cam.injector_mid.norm.num_channels == 64


def test_frame_encoder_downsamples_like_the_vae():
    encoder = FrameEncoder(out_channels=32, num_stages=1)
    out = encoder(torch.zeros(3, 3, 32, 32))
    assert out.shape == (3, 32, 16, 16)
    assert torch.count_nonzero(out) == 0  # zero-initialised output conv


def test_real_configuration_matches_the_spec():
    from diffusers import UNet3DConditionModel

    assert frame_encoder_widths(320, 3) == [32, 96, 256, 512]
    with torch.device("meta"):
        unet = UNet3DConditionModel()  # ModelScope's defaults
        encoder = FrameEncoder(out_channels=320, num_stages=3)
    assert skip_channels(unet) == [320, 320, 320, 320, 640, 640, 640, 1280, 1280, 1280, 1280, 1280]
    convs = [encoder.conv_in, *encoder.blocks, encoder.conv_out]
    assert [(c.in_channels, c.out_channels, c.stride[0]) for c in convs] == [
        (3, 32, 1), (32, 32, 1), (32, 96, 2), (96, 96, 1), (96, 256, 2), (256, 256, 1), (256, 512, 2), (512, 320, 1)]
    # SPEC: every conv of E_cond is 3x3 with "same" padding (stride 2 halves the size exactly). Catches a changed
    # kernel or padding: the features would no longer line up with the latent grid, or the released weights not load.
    assert [(c.kernel_size, c.padding, c.stride) for c in convs] == [((3, 3), (1, 1), (s, s)) for s in (1, 1, 2, 1, 2, 1, 2, 1)]


def test_cam_receives_the_context_frames_through_a_hook(parts):
    _, model, sample, text, frames = parts
    seen = []
    handle = model.cam.encoder.controlnet_cond_embedding.register_forward_hook(lambda mod, args, out: seen.append(args[0]))
    try:
        with torch.no_grad():
            model(sample, torch.tensor(10), text, cond_frames=frames)
    finally:
        handle.remove()
    assert len(seen) == 1 and torch.equal(seen[0], frames.reshape(16, 3, 16, 16))


def test_the_cam_copies_share_no_weights_with_the_base_unet(parts):
    """The CAM's encoder is a trainable copy: conv_in, the time embedding, the input temporal
    transformer, the down blocks and the mid block hold their own tensors (equal values, separate storage), so
    loading or training the CAM never writes into the frozen base. Catches `copy.copy` instead of `deepcopy` for
    any of them (a shallow copy shares the parameter tensors)."""
    unet, model, *_ = parts
    encoder = model.cam.encoder
    for name in ("conv_in", "time_embedding", "transformer_in", "down_blocks", "mid_block"):  # time_proj has no weights
        base, copied = getattr(unet, name), getattr(encoder, name)
        assert copied is not base, name
        base_tensors = dict(base.state_dict(keep_vars=True))
        copied_tensors = dict(copied.state_dict(keep_vars=True))
        assert copied_tensors and copied_tensors.keys() <= base_tensors.keys(), name  # the base also has the APM mixing
        for key, tensor in copied_tensors.items():
            assert tensor is not base_tensors[key], f"{name}.{key}"
            assert tensor.untyped_storage().data_ptr() != base_tensors[key].untyped_storage().data_ptr(), f"{name}.{key}"
            assert torch.equal(tensor, base_tensors[key]), f"{name}.{key}"
    base_storages = {p.untyped_storage().data_ptr() for p in unet.parameters()}
    assert not base_storages & {p.untyped_storage().data_ptr() for p in model.cam.parameters()}
