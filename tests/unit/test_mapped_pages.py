"""Converting a memory-mapped checkpoint gives its pages back tensor by tensor, and never touches
memory that is not the file's (scripts/measure_convert_memory.py measures the same at 2 GB)."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from studio.generate.ckpt_reader import read_checkpoint
from studio.generate.conversion import write_safetensors_streaming
from studio.generate.mapped_pages import MappedPages

TENSORS, ELEMENTS = 8, 2**19  # 8 tensors of 2 MiB (fp32): 16 MiB of file


def resident_kib_of(path: Path) -> int:
    """Resident KiB of this process's mappings of `path` (/proc/self/smaps)."""
    wanted, total, inside = os.path.realpath(path), 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if "-" in fields[0] and len(fields) >= 5 and not fields[0].endswith(":"):  # a mapping's header line
            inside = len(fields) == 6 and fields[5] == wanted
        elif inside and fields[0] == "Rss:":
            total += int(fields[1])
    return total


def mapped_checkpoint(tmp_path: Path) -> tuple[Path, dict, dict]:
    generator = torch.Generator().manual_seed(0)
    original = {f"base_model.block{i}.weight": torch.randn(ELEMENTS, generator=generator) for i in range(TENSORS)}
    path = tmp_path / "streaming_t2v.ckpt"
    torch.save({"state_dict": original, "epoch": 1}, path)
    state = read_checkpoint(path)  # memory-mapped
    assert sum(float(v.sum()) for v in state.values()) != 0  # read every tensor: its pages are now resident
    return path, state, original


def test_the_converter_gives_back_the_mapped_pages_and_the_values_stay_right(tmp_path):
    path, state, original = mapped_checkpoint(tmp_path)
    file_kib = TENSORS * ELEMENTS * 4 // 1024
    assert resident_kib_of(path) >= file_kib * 0.9  # the state the converter starts from
    write_safetensors_streaming(state, tmp_path / "out.safetensors", {}, mapped_source=path)
    assert resident_kib_of(path) < file_kib * 0.1  # one tensor's pages at most, not the file
    for name, value in state.items():  # released pages are read again from the file, unchanged
        assert torch.equal(value, original[name])
    written = read_checkpoint(tmp_path / "out.safetensors")
    assert all(torch.equal(written[name], original[name].half()) for name in original)


def test_memory_that_is_not_the_files_is_never_released(tmp_path):
    path, state, original = mapped_checkpoint(tmp_path)
    in_memory = {name: value.clone() for name, value in original.items()}  # anonymous memory: madvise would zero it
    pages = MappedPages(path)
    assert pages.ranges  # the file is mapped
    assert not any(pages.release(value) for value in in_memory.values())
    assert all(torch.equal(in_memory[name], original[name]) for name in original)
    assert pages.release(next(iter(state.values()))) and pages.released_bytes >= ELEMENTS * 4
