"""The mapping against the official state dict's own 2,389 names and shapes (tests/fixtures), and the
`weights inspect` / `weights convert` commands over Lightning-style files built from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from studio.cli import main
from studio.config import load_preset
from studio.errors import StudioError
from studio.generate.checkpoint import compare_with_model, convert_checkpoint, map_state_dict, refusal
from studio.generate.weights_check import expected_shapes

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "streamingt2v_state_dict_keys.json"


def official_shapes() -> dict[str, list[int]]:
    return json.loads(FIXTURE.read_text())


def stride_zero_state(shapes: dict) -> dict:
    """Tensors of the official names and shapes that cost one element each (a file of them is small)."""
    return {name: torch.zeros(()).expand(shape) for name, shape in shapes.items()}


@pytest.fixture(scope="module")
def full_size():
    return expected_shapes(load_preset("bench-gpu"))


def test_every_official_tensor_maps_onto_the_full_size_model(full_size):
    shapes = official_shapes()
    assert len(shapes) == 2389
    assert sum(k.startswith("base_model.") for k in shapes) == 1703 and sum(k.startswith("unet.") for k in shapes) == 682
    mapped, report = map_state_dict({k: torch.empty(s, device="meta") for k, s in shapes.items()})
    compare_with_model(mapped, full_size, report)
    assert report.layout == "official"
    assert (report.missing, report.unexpected, report.mismatched) == ([], [], [])
    assert report.loaded == len(full_size) == 2389
    assert refusal(report) is None


def write_lightning(path: Path, state: dict) -> None:
    state = {**state, "vae.encoder.conv_in.weight": torch.zeros(()).expand(128, 3, 3, 3),
             "image_encoder.model.visual.proj": torch.zeros(()).expand(1280, 1024),
             "text_encoder.model.token_embedding.weight": torch.zeros(()).expand(49408, 1024)}
    torch.save({"state_dict": state, "epoch": 9, "global_step": 12000,
                "optimizer_states": [{"state": {0: {"exp_avg": torch.zeros(4)}}, "param_groups": [{"lr": 1e-5}]}],
                "hyper_parameters": {"lr": 1e-5}}, path)


def test_inspect_calls_the_official_layout_loadable(tmp_path, capsys, full_size):
    path = tmp_path / "streaming_t2v.ckpt"
    write_lightning(path, stride_zero_state(official_shapes()))
    assert main(["weights", "inspect", str(path), "--preset", "bench-gpu", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["layout"] == "official" and found["mapped"] == 2389 and found["loadable"] is True
    assert found["dropped_frozen"] == 3 and found["missing"] == found["unexpected"] == found["mismatched"] == []


def test_inspect_refuses_a_broken_checkpoint_naming_its_keys(tmp_path, capsys, full_size):
    shapes = official_shapes()
    del shapes["base_model.cross_attention_merger_mid_block.temporal_transformer.proj_out.weight"]
    shapes["base_model.down_blocks.0.attentions.0.transformer_blocks.0.attn2.alpha"] = [2]
    shapes["base_model.extra_head.weight"] = [4, 4]
    path = tmp_path / "broken.ckpt"
    write_lightning(path, stride_zero_state(shapes))
    assert main(["weights", "inspect", str(path), "--preset", "bench-gpu", "--json"]) == 1
    found = json.loads(capsys.readouterr().out)
    assert found["loadable"] is False
    assert found["missing"] == ["base_model.cross_attention_merger_mid_block.temporal_transformer.proj_out.weight"]
    assert found["unexpected"] == ["base_model.extra_head.weight"]
    assert found["mismatched"] == ["base_model.down_blocks.0.attentions.0.transformer_blocks.0.attn2.alpha: "
                                   "checkpoint (2,) vs model ()"]
    target = tmp_path / "out.safetensors"
    with pytest.raises(StudioError, match=r"1 missing .*proj_out\.weight.*1 unexpected.*extra_head"):
        convert_checkpoint(path, target, expected=full_size)
    assert not target.exists()


def test_convert_writes_a_loadable_file_of_our_names(tmp_path, capsys):
    """The tiny architecture: real values, so the fp16 file can be compared number by number."""
    from studio.generate.checkpoint import load_into, to_released_key
    from studio.generate.ckpt_reader import read_checkpoint
    from studio.models.tiny_release import tiny_streaming_model

    source = tiny_streaming_model()
    path = tmp_path / "tiny.ckpt"
    write_lightning(path, {to_released_key(k): v for k, v in source.state_dict().items()})
    target = tmp_path / "tiny.safetensors"
    assert main(["weights", "convert", str(path), "-o", str(target), "--preset", "tiny"]) == 0
    assert "3 frozen copies dropped" in capsys.readouterr().out
    assert main(["weights", "inspect", str(target), "--preset", "tiny"]) == 0
    assert "layout: converted" in capsys.readouterr().out
    state = read_checkpoint(target)
    assert all(v.dtype == torch.float16 for v in state.values() if v.is_floating_point())
    fresh = tiny_streaming_model(synthetic_release=False)
    load_into(fresh, state)
    for key, value in source.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value.half().float()), key


@pytest.fixture(scope="module")
def tiny_release_bytes(tmp_path_factory) -> bytes:
    """A loadable release-style checkpoint of the tiny architecture, as bytes."""
    from studio.generate.checkpoint import to_released_key
    from studio.models.tiny_release import tiny_streaming_model

    path = tmp_path_factory.mktemp("tiny") / "tiny.ckpt"
    write_lightning(path, {to_released_key(k): v for k, v in tiny_streaming_model().state_dict().items()})
    return path.read_bytes()


@pytest.mark.parametrize("kind", ["the input", "a hard link to the input", "a fifo", "a folder", "a symlink"])
def test_convert_writes_only_a_regular_file_and_never_over_its_input(tmp_path, capsys, kind, tiny_release_bytes):
    """Bugs caught: `-o` was renamed over any path (a device node as root: `-o /dev/full` replaced the
    device), and `-o` naming the input (or a hard link to it) silently replaced the checkpoint."""
    import os

    path = tmp_path / "tiny.ckpt"
    path.write_bytes(tiny_release_bytes)
    before = path.read_bytes()
    target = tmp_path / "out.safetensors"
    if kind == "the input":
        target = path
    elif kind == "a hard link to the input":
        os.link(path, target)
    elif kind == "a fifo":
        os.mkfifo(target)
    elif kind == "a folder":
        target.mkdir()
    else:
        (tmp_path / "elsewhere.safetensors").write_bytes(b"kept")
        target.symlink_to(tmp_path / "elsewhere.safetensors")
    kind_before = os.lstat(target).st_mode
    assert main(["weights", "convert", str(path), "-o", str(target), "--preset", "tiny"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and ("input" in err or "not a regular file" in err), err
    assert path.read_bytes() == before and os.lstat(target).st_mode == kind_before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left
