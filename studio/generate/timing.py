"""A timing hook for the chunk loop: who wants the time of each part of a chunk opens `timing_parts`.

    timer = PartTimer(cuda=True)
    with timing_parts(timer):
        for event in generate_scene(...): ...
    timer.seconds   # {"text": ..., "apm": ..., "cam": ..., "unet": ..., "vae": ..., "files": ...}

The sampler wraps each part in `timed("unet")`; with no timer open that is a no-op, so the loop pays
nothing when nobody measures. A context variable, not a global: two sessions never share a timer.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
import time
from collections import defaultdict
from typing import Iterator

_timer: contextvars.ContextVar["PartTimer | None"] = contextvars.ContextVar("studio_part_timer", default=None)


class PartTimer:
    """Adds up wall seconds per part; on CUDA it synchronises around each part so the time is the GPU's."""

    def __init__(self, cuda: bool = False):
        self.cuda = cuda
        self.seconds: dict[str, float] = defaultdict(float)
        self.inner: list[float] = []  # one entry per open part

    def sync(self) -> None:
        if self.cuda:
            import torch

            torch.cuda.synchronize()

    @property
    def total(self) -> float:
        return sum(self.seconds.values())


@contextlib.contextmanager
def timing_parts(timer: PartTimer) -> Iterator[PartTimer]:
    token = _timer.set(timer)
    try:
        yield timer
    finally:
        _timer.reset(token)


@contextlib.contextmanager
def timed(part: str) -> Iterator[None]:
    """Add this block's wall time to `part`; a part timed inside another (cam inside unet) is taken
    out of the outer one, so the parts add up to the wall time."""
    torch = sys.modules.get("torch")
    timer = None if torch is not None and torch.compiler.is_compiling() else _timer.get()  # nothing to time in a graph
    if timer is None:
        yield
        return
    timer.sync()
    started = time.perf_counter()
    timer.inner.append(0.0)  # seconds of the parts nested in this one
    try:
        yield
    finally:
        timer.sync()
        elapsed = time.perf_counter() - started
        timer.seconds[part] += elapsed - timer.inner.pop()
        if timer.inner:
            timer.inner[-1] += elapsed
