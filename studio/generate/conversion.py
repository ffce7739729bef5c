"""Converting a released checkpoint to one fp16 safetensors file in our names, tensor by tensor.

The source is memory-mapped (ckpt_reader) and each tensor is cast and written on its own, and its
pages of the mapped file are given back once written (mapped_pages.py), so the peak memory is about
the largest tensor, not the file. safetensors' own `save_file` wants every tensor in
memory at once, so the (simple, documented) format is written here: an 8-byte little-endian header
length, a JSON header of names, dtypes, shapes and byte offsets, then the raw bytes in header order.
"""

from __future__ import annotations

import json
import logging
import shutil
import struct
from pathlib import Path
from typing import Callable

from studio.errors import StudioError
from studio.project.paths import atomic_path

logger = logging.getLogger(__name__)

_SAFETENSORS_DTYPES = {"float16": "F16", "bfloat16": "BF16", "float32": "F32", "float64": "F64", "int64": "I64",
                       "int32": "I32", "int16": "I16", "int8": "I8", "uint8": "U8", "bool": "BOOL"}
DISK_MARGIN_BYTES = 64 * 2**20  # the header and the file system's own needs


def output_dtype(tensor):
    import torch

    return torch.float16 if tensor.is_floating_point() else tensor.dtype


def _header(tensors: dict, metadata: dict) -> tuple[bytes, int]:
    """The JSON header (padded to 8 bytes, as safetensors writes it) and the data size it describes."""
    header: dict = {"__metadata__": metadata}
    offset = 0
    for name, tensor in tensors.items():
        dtype = output_dtype(tensor)
        code = _SAFETENSORS_DTYPES.get(str(dtype).removeprefix("torch."))
        if code is None:
            raise StudioError(f"tensor {name} has dtype {dtype}, which safetensors cannot store")
        size = tensor.numel() * dtype.itemsize
        header[name] = {"dtype": code, "shape": list(tensor.shape), "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header, separators=(",", ":")).encode()
    return raw + b" " * (-len(raw) % 8), offset


def check_free_space(folder: Path, needed: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if free < needed + DISK_MARGIN_BYTES:
        raise StudioError(f"converting needs {needed / 2**30:.1f} GiB free in {folder}, and only {free / 2**30:.1f} GiB "
                          "is free; free some space (or set HF_HOME to a larger disk) and try again")


def write_safetensors_streaming(tensors: dict, target: Path, metadata: dict,
                                progress: Callable[[int, int], None] | None = None,
                                mapped_source: Path | None = None) -> int:
    """Write `tensors` (any device/dtype, memory-mapped is fine) as fp16 safetensors; returns the bytes written.

    With `mapped_source` (the file the tensors are memory-mapped from, never written to), each tensor's
    pages of that mapping are released once it is written. Atomic: a failure (a full disk included)
    leaves no file at `target`.
    """
    import torch

    from studio.generate.mapped_pages import MappedPages

    mapped = MappedPages(mapped_source) if mapped_source is not None else None
    header, data_size = _header(tensors, {k: str(v) for k, v in metadata.items()})
    check_free_space(Path(target).parent, data_size + len(header))
    with atomic_path(Path(target)) as tmp, open(tmp, "wb") as handle:
        handle.write(struct.pack("<Q", len(header)))
        handle.write(header)
        for index, tensor in enumerate(tensors.values()):
            # 1. one tensor in memory at a time: cast (a copy), view as bytes, write, drop
            converted = tensor.to(device="cpu", dtype=output_dtype(tensor)).contiguous()
            handle.write(memoryview(converted.reshape(-1).view(torch.uint8).numpy()))  # (numel * itemsize,) bytes
            del converted
            if mapped is not None:
                mapped.release(tensor)  # 2. its pages of the source file: read again from disk if ever needed
            if progress:
                progress(index + 1, len(tensors))
        handle.flush()
    if mapped is not None:
        logger.debug("released %.0f MiB of mapped checkpoint pages", mapped.released_bytes / 2**20)
    return data_size + len(header) + 8


def log_progress(done: int, total: int) -> None:
    if done == total or done % max(1, total // 20) == 0:
        logger.info("converting: %d/%d tensors", done, total)
