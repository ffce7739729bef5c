"""Giving back the pages of a memory-mapped checkpoint once a tensor has been converted.

torch.load(mmap=True) maps the whole file. Reading a tensor faults its pages into the process, and
they stay mapped until the mapping goes: converting every tensor of a 2 GB file left 1.9 GB of the
file resident in the converter (RssFile; measured with scripts/measure_convert_memory.py), so its
peak RSS was the file's size, not one tensor's. Those pages are clean copies of the file, so
`madvise(MADV_DONTNEED)` may drop them: a later read faults them in again from the file.

Only ranges inside a mapping of the given file are released. The same call on ordinary (anonymous)
memory would zero it, so a tensor that is not in the file's mapping is never touched.
Linux only; elsewhere (no /proc, no madvise) nothing is released and nothing changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import mmap
import os
from pathlib import Path

logger = logging.getLogger(__name__)

MADV_DONTNEED = 4  # Linux


def file_mappings(path: Path) -> list[tuple[int, int]]:
    """(start, end) address ranges of this process's mappings of `path` (empty when none or not Linux)."""
    wanted = os.path.realpath(path)
    ranges = []
    try:
        lines = Path("/proc/self/maps").read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        parts = line.split(maxsplit=5)
        if len(parts) == 6 and parts[5] == wanted:
            start, end = (int(value, 16) for value in parts[0].split("-"))
            ranges.append((start, end))
    return ranges


class MappedPages:
    """Releases the file-mapped pages of tensors read from `path`, one tensor at a time."""

    def __init__(self, path: Path):
        self.ranges = file_mappings(path)
        self.released_bytes = 0
        self._madvise = None
        if self.ranges:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            self._madvise = libc.madvise
            self._madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)

    def release(self, tensor) -> bool:
        """Drop the pages of `tensor`'s storage if they lie in the file's mapping; True when released."""
        if self._madvise is None or tensor.device.type != "cpu":
            return False
        storage = tensor.untyped_storage()
        first, last = storage.data_ptr(), storage.data_ptr() + storage.nbytes()
        for start, end in self.ranges:
            if start <= first and last <= end:
                page_start = first - (first - start) % mmap.PAGESIZE  # whole pages, inside the mapping
                page_end = min(end, last + (-(last - start)) % mmap.PAGESIZE)
                if self._madvise(page_start, page_end - page_start, MADV_DONTNEED) != 0:
                    logger.debug("madvise failed (errno %d); the pages stay mapped", ctypes.get_errno())
                    return False
                self.released_bytes += page_end - page_start
                return True
        return False
