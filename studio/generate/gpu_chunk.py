"""One GPU call per chunk: on a ZeroGPU Space each chunk of a scene is its own `spaces.GPU` call.

A scene of many chunks does not fit one ZeroGPU call, and a long call holds the shared GPU while
files are written. So the stage asks for the GPU chunk by chunk, with a budget computed from the
preset's steps (studio.gpu.chunk_gpu_seconds); between chunks, files are written and the stop flag is
checked off the GPU. On ZeroGPU the call runs in a forked worker and its arguments and result cross a
pipe, so they are plain values (the preset, the prompt, numpy arrays, the seed), never the stop event.
Everywhere else the chunk is made in this process, stoppable between denoising steps.
"""

from __future__ import annotations

import functools
from typing import Callable

import numpy as np

from studio.config import Preset
from studio.errors import StoppedError
from studio.gpu import chunk_gpu_seconds, gpu_entry, on_zero_gpu


def make_chunk_frames_on_gpu(preset: Preset, prompt: str, context: np.ndarray | None, anchor: np.ndarray | None,
                             seed: int, keep_context: bool) -> np.ndarray:
    """The chunk's frames (T, H, W, 3) uint8 from the preset's video model (the body of the GPU call)."""
    return _make_here(preset, prompt, context, anchor, seed, None, keep_context)


def _make_here(preset: Preset, prompt: str, context: np.ndarray | None, anchor: np.ndarray | None, seed: int, stop,
               keep_context: bool) -> np.ndarray:
    """The chunk from the preset's model family: StreamingT2V (CAM + APM) or LTX-Video (studio/generate/ltx/)."""
    if preset.models.family == "ltx":
        from studio.generate.ltx.chunk import make_ltx_chunk

        return make_ltx_chunk(preset, prompt, context, anchor, seed, stop, keep_context=keep_context)
    from studio.generate.sampler import StreamingPipeline

    return StreamingPipeline(preset).make_chunk(prompt, context, anchor, seed, stop=stop, keep_context=keep_context)


def _budget(preset: Preset, *args, **kwargs) -> int:
    """spaces.GPU calls a duration callable with the call's own arguments."""
    return chunk_gpu_seconds(preset)


@functools.lru_cache(maxsize=1)
def zero_gpu_chunk_call() -> Callable[..., np.ndarray]:
    """`make_chunk_frames_on_gpu` under spaces.GPU, decorated once (spaces keeps one worker per function)."""
    return gpu_entry(duration=_budget)(make_chunk_frames_on_gpu)


def make_streaming_chunk(preset: Preset, prompt: str, context: np.ndarray | None, anchor: np.ndarray | None,
                         seed: int, stop, *, keep_context: bool) -> np.ndarray:
    """One chunk: its own GPU call on ZeroGPU (stop is checked before it), else in this process."""
    if not on_zero_gpu():
        return _make_here(preset, prompt, context, anchor, seed, stop, keep_context)
    if stop is not None and stop.is_set():
        raise StoppedError("stopped; finished chunks are kept")
    return zero_gpu_chunk_call()(preset, prompt, context, anchor, seed, keep_context)
