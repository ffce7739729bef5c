"""The released weights: synthetic checkpoints with the official (and VidXTend) names round-trip."""

from __future__ import annotations

import pytest
import torch

from studio.errors import StudioError
from studio.generate.checkpoint import convert_checkpoint, load_into, read_checkpoint, to_our_key, to_released_key
from studio.generate.model import StreamingModel
from studio.models import tiny as tiny_models


def build(seed: int) -> StreamingModel:
    model = StreamingModel.build(tiny_models.unet3d(), tiny_models.clip_vision(), vae_scale_factor=2)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # "trained" weights: nothing zero, so a lost tensor shows
        for param in model.parameters():
            param.copy_(torch.randn(param.shape, generator=generator) * 0.1)
    return model


def released(model: StreamingModel, layout: str) -> dict:
    state = {to_released_key(k, layout): v.clone() for k, v in model.state_dict().items()}
    state["vae.encoder.conv_in.weight"] = torch.zeros(2)  # frozen public copies are dropped
    state["image_encoder.model.proj"] = torch.zeros(2)
    return state


def test_official_names_look_like_the_release():
    names = {to_released_key(k) for k in build(0).state_dict()}
    assert "unet.controlnet_cond_embedding.conv_out.weight" in names
    assert "unet.controlnet_cond_embedding.blocks.1.weight" in names
    assert "base_model.cross_attention_merger_down_blocks.3.temporal_transformer.proj_out.weight" in names
    assert "base_model.cross_attention_merger_mid_block.temporal_transformer.attention.to_k.weight" in names
    assert "base_model.down_blocks.0.attentions.0.transformer_blocks.0.attn2.conv.weight" in names
    assert "base_model.mid_block.attentions.0.transformer_blocks.0.attn2.alpha" in names
    assert "resampler.context_embedding.2.weight" in names
    assert to_our_key("controlnet.conv_in.weight", "vidxtend") == "cam.encoder.conv_in.weight"


@pytest.mark.parametrize("layout", ["official", "vidxtend"])
def test_round_trip_through_a_lightning_checkpoint(tmp_path, layout):
    source_model = build(1)
    ckpt = tmp_path / "streaming_t2v.ckpt"
    torch.save({"state_dict": released(source_model, layout), "epoch": 3}, ckpt)
    target = tmp_path / "converted.safetensors"
    report = convert_checkpoint(ckpt, target)
    assert report.layout == layout and report.dropped_frozen == 2 and report.unexpected == []
    fresh = build(2)
    loaded = load_into(fresh, read_checkpoint(target))
    assert loaded.missing == [] and loaded.mismatched == []
    for key, value in source_model.state_dict().items():  # fp16 storage: equal to fp16 precision
        assert torch.allclose(fresh.state_dict()[key], value.half().float(), atol=0, rtol=0), key


def test_wrong_shapes_are_refused_and_change_nothing(tmp_path):
    model = build(3)
    state = {k: v.clone() for k, v in build(4).state_dict().items()}
    state["cam.injector_mid.proj_in.weight"] = torch.zeros(5, 5)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(StudioError, match=r"mis-shaped.*cam\.injector_mid\.proj_in\.weight"):
        load_into(model, state)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_missing_cam_tensors_are_an_error():
    model = build(5)
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("cam.")}
    with pytest.raises(StudioError, match="missing .first: cam\."):
        load_into(build(6), state)


def test_unreadable_and_foreign_checkpoints(tmp_path):
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(StudioError, match="could not be read"):
        read_checkpoint(junk)
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"state_dict": {"model.weight": torch.zeros(1)}}, foreign)
    with pytest.raises(StudioError, match="not a StreamingT2V checkpoint"):
        convert_checkpoint(foreign, tmp_path / "out.safetensors")
    assert not (tmp_path / "out.safetensors").exists()
