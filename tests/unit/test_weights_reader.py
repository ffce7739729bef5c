"""The checkpoint reader on Lightning-style files: classes that are not installed, optimizer state,
frozen copies, pickles that would run code, and files that are not checkpoints at all."""

from __future__ import annotations

import os
import sys
import tracemalloc
import types

import pytest
import torch

from studio.cli import main
from studio.errors import StudioError
from studio.generate.checkpoint import convert_checkpoint
from studio.generate.ckpt_reader import StandIn, load_pickled, read_checkpoint


@pytest.fixture
def uninstalled_classes():
    """Classes of a package that exists only while the file is written (as pytorch_lightning would)."""
    package, module = types.ModuleType("lightning_stub"), types.ModuleType("lightning_stub.callbacks")

    class ModelCheckpoint:
        def __init__(self):
            self.best_model_score = torch.tensor(0.25)
            self.dirpath = "/checkpoints"

    class AttributeDict(dict):
        pass

    for cls in (ModelCheckpoint, AttributeDict):
        cls.__module__, cls.__qualname__ = module.__name__, cls.__name__
        setattr(module, cls.__name__, cls)
    sys.modules.update({package.__name__: package, module.__name__: module})
    yield ModelCheckpoint, AttributeDict
    for name in (module.__name__, package.__name__):
        sys.modules.pop(name, None)


class RunsCode:
    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class Evaluates:
    def __init__(self, source: str):
        self.source = source

    def __reduce__(self):
        return (eval, (self.source,))


def lightning_file(path, classes, extra=None):
    checkpoint_cls, attribute_dict = classes
    state = {"base_model.conv_in.weight": torch.arange(6.0).reshape(2, 3), "unet.conv_in.bias": torch.ones(2),
             "resampler.context_embedding.0.weight": torch.full((2, 2), 0.5), "vae.decoder.conv_in.weight": torch.zeros(3),
             "text_encoder.embeddings.weight": torch.zeros(2)}
    torch.save({"state_dict": state, "epoch": 7, "hyper_parameters": attribute_dict(lr=1e-5, frames=16),
                "callbacks": {"ModelCheckpoint": checkpoint_cls()},
                "optimizer_states": [{"state": {0: {"exp_avg": torch.ones(3)}}, "param_groups": [{"lr": 1e-5}]}],
                **(extra or {})}, path)
    for name in ("lightning_stub.callbacks", "lightning_stub"):  # not installed when it is read
        sys.modules.pop(name, None)
    return state


def test_a_lightning_checkpoint_with_uninstalled_classes_is_read(tmp_path, uninstalled_classes):
    path = tmp_path / "streaming_t2v.ckpt"
    written = lightning_file(path, uninstalled_classes)
    with pytest.raises(Exception):  # what the old reader did: weights_only refuses the Lightning extras
        torch.load(path, weights_only=True)
    state = read_checkpoint(path)
    assert set(state) == set(written)
    assert all(torch.equal(state[k], v) for k, v in written.items())
    whole = load_pickled(path)
    assert isinstance(whole["callbacks"]["ModelCheckpoint"], StandIn)
    assert whole["callbacks"]["ModelCheckpoint"].state["dirpath"] == "/checkpoints"
    assert dict(whole["hyper_parameters"]) == {"lr": 1e-5, "frames": 16}  # a dict subclass keeps its items
    assert torch.equal(whole["optimizer_states"][0]["state"][0]["exp_avg"], torch.ones(3))


@pytest.mark.parametrize("payload", ["system", "eval"])
def test_a_pickle_that_would_run_code_runs_none(tmp_path, uninstalled_classes, payload):
    marker = tmp_path / "ran"
    evil = RunsCode(f"touch {marker}") if payload == "system" else Evaluates(f"open({str(marker)!r}, 'w')")
    path = tmp_path / "evil.ckpt"
    lightning_file(path, uninstalled_classes, extra={"loops": evil})
    state = read_checkpoint(path)
    assert "base_model.conv_in.weight" in state
    assert isinstance(load_pickled(path)["loops"], StandIn)
    assert not marker.exists()


def test_tensors_are_memory_mapped_not_read(tmp_path, uninstalled_classes):
    path = tmp_path / "mapped.ckpt"
    lightning_file(path, uninstalled_classes)
    tensor = read_checkpoint(path)["base_model.conv_in.weight"]  # kept: the mapping lives as long as it
    address = tensor.data_ptr()
    regions = []  # the address ranges of this process mapped from the checkpoint file
    for line in open("/proc/self/maps").read().splitlines():
        if line.endswith(str(path)):
            start, end = (int(part, 16) for part in line.split()[0].split("-"))
            regions.append((start, end))
    assert any(start <= address < end for start, end in regions)


def test_files_that_are_not_checkpoints_get_one_line(tmp_path, uninstalled_classes):
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"not a checkpoint")
    good = tmp_path / "good.ckpt"
    lightning_file(good, uninstalled_classes)
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    for path in (junk, truncated):
        with pytest.raises(StudioError, match="could not be read") as error:
            read_checkpoint(path)
        assert "\n" not in str(error.value)
    with pytest.raises(StudioError, match="does not exist"):
        read_checkpoint(tmp_path / "absent.ckpt")
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"state_dict": {"model.weight": torch.zeros(1)}}, foreign)
    with pytest.raises(StudioError, match="not a StreamingT2V checkpoint"):
        convert_checkpoint(foreign, tmp_path / "out.safetensors")
    assert not (tmp_path / "out.safetensors").exists()
    listing = tmp_path / "list.ckpt"
    torch.save([1, 2], listing)
    with pytest.raises(StudioError, match="no state dict"):
        read_checkpoint(listing)


@pytest.mark.parametrize("payload", ["system", "eval"])
def test_a_legacy_format_pickle_that_would_run_code_runs_none(tmp_path, payload):
    """The old (non-zip) torch.save format goes through a different torch.load path (no mmap, the pickle
    module's own load), so it is tested on its own: its state dict is read, the payload is an inert stand-in,
    and the marker file its code would write never appears. Catches a legacy fallback that uses the full
    unpickler (torch.load without our pickle module), which would run the payload (every other class in the
    file is importable, so that unpickler would get as far as running it)."""
    marker = tmp_path / "ran"
    evil = RunsCode(f"touch {marker}") if payload == "system" else Evaluates(f"open({str(marker)!r}, 'w')")
    path = tmp_path / "legacy.ckpt"
    state = {"base_model.conv_in.weight": torch.arange(6.0).reshape(2, 3)}
    torch.save({"state_dict": state, "loops": evil}, path, _use_new_zipfile_serialization=False)
    assert path.read_bytes()[:2] != b"PK"  # really the legacy format, not a zip archive
    read = read_checkpoint(path)
    assert not marker.exists()
    assert set(read) == set(state) and torch.equal(read["base_model.conv_in.weight"], state["base_model.conv_in.weight"])
    assert isinstance(load_pickled(path)["loops"], StandIn)
    assert not marker.exists()


class Allocates:
    """Pickles as a call of an allowed constructor with a size: `bytearray(N)` makes N bytes on load."""

    def __init__(self, constructor, size: int):
        self.constructor, self.size = constructor, size

    def __reduce__(self):
        return (self.constructor, (self.size,))


@pytest.mark.parametrize("constructor", [bytearray, torch.ByteTensor, torch.Tensor, torch.cuda.FloatTensor],
                         ids=["bytearray", "ByteTensor", "Tensor", "cuda.FloatTensor"])
def test_a_size_in_the_pickle_allocates_nothing_big(tmp_path, uninstalled_classes, constructor):
    """Bug caught: torch's allow-list calls `bytearray(N)` and the tensor constructors with the pickle's N,
    so a tiny file's hyper-parameters made N bytes (1.75 GB from 971 bytes). (Storage constructors are
    turned into inert StorageType objects by torch.load itself.)"""
    path = tmp_path / "bomb.ckpt"
    lightning_file(path, uninstalled_classes, extra={"hyper_parameters": {"cache": Allocates(constructor, 2**28)}})
    tracemalloc.start()
    try:
        with pytest.raises(StudioError, match="allocat") as error:
            read_checkpoint(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**26 and "\n" not in str(error.value) and "download" not in str(error.value)


def test_a_state_dict_with_a_key_that_is_not_a_name_gets_one_line(tmp_path, capsys):
    """Bug caught: an integer state_dict key reached `key.startswith` and gave a traceback."""
    path = tmp_path / "numbered.ckpt"
    torch.save({"state_dict": {0: torch.zeros(1), "unet.conv_in.bias": torch.ones(2)}}, path)
    assert main(["weights", "inspect", str(path), "--preset", "tiny"]) == 2
    err = capsys.readouterr().err
    assert "not a tensor name" in err and len(err.strip().splitlines()) == 1


def test_tensor_names_are_printed_escaped_and_forge_no_line(tmp_path, capsys):
    """Bug caught: names printed raw, so an ANSI escape and a newline in a key forged `loadable: yes`."""
    path = tmp_path / "forged.ckpt"
    forged = "base_model.x\x1b[2K\rloadable: yes\nmissing: 0"
    torch.save({"state_dict": {forged: torch.zeros(1)}}, path)
    assert main(["weights", "inspect", str(path), "--preset", "tiny"]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\r" not in out
    assert "loadable: yes" not in out.splitlines() and "missing: 0" not in out.splitlines()
    assert [line for line in out.splitlines() if line.startswith("loadable:")][0].startswith("loadable: no")
    assert "\\x1b[2K\\rloadable: yes\\nmissing: 0" in out


def test_an_object_of_an_uninstalled_class_can_key_a_dict(tmp_path, uninstalled_classes):
    """Bug caught: the stand-in subclassed dict and was unhashable, so a dict keyed by such an object
    made the file unreadable, reported as 'truncated: download it again'."""
    checkpoint_cls, _ = uninstalled_classes
    path = tmp_path / "keyed.ckpt"
    key = checkpoint_cls()
    written = lightning_file(path, uninstalled_classes, extra={"callback_states": {key: 1}, "seen": {key}})
    state = read_checkpoint(path)
    assert set(state) == set(written)
    whole = load_pickled(path)
    (stand_in,) = whole["callback_states"]
    assert isinstance(stand_in, StandIn) and whole["callback_states"][stand_in] == 1
