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


def _budget(preset: Preset, prompt: str = "", context: np.ndarray | None = None, *args, **kwargs) -> int:
    """spaces.GPU calls a duration callable with the call's own arguments: a chunk without context is a
    text-started chunk 0 (the first_chunk recipe's steps), any other the streaming steps."""
    return chunk_gpu_seconds(preset, text_started=context is None)


def heal_seam_frames_on_gpu(preset: Preset, left: np.ndarray, right: np.ndarray, prompt: str, seed: int):
    """The body of a seam-healing GPU call (keep-later): SDEdit with the refiner around the seam."""
    from studio.generate.seam import heal_seam
    from studio.models.memory import enter_stage

    healing = heal_seam(preset, left, right, prompt=prompt, seed=seed)
    enter_stage(preset, "seam")  # inside the call: what healing used stays ready for the next one
    return healing


def _seam_budget(preset: Preset, left: np.ndarray, right: np.ndarray, *args, **kwargs) -> int:
    from studio.gpu import seam_gpu_seconds

    return seam_gpu_seconds(preset, len(left) + len(right), left.shape[2], left.shape[1])


@functools.lru_cache(maxsize=1)
def zero_gpu_seam_call() -> Callable[..., object]:
    return gpu_entry(duration=_seam_budget)(heal_seam_frames_on_gpu)


def heal_seam_in_gpu_call(preset: Preset, left: np.ndarray, right: np.ndarray, *, prompt: str, seed: int, stop):
    """Seam healing: its own GPU call on ZeroGPU (stop is checked before it), else in this process."""
    if not on_zero_gpu():
        from studio.generate.seam import heal_seam

        return heal_seam(preset, left, right, prompt=prompt, seed=seed, stop=stop)
    if stop is not None and stop.is_set():
        raise StoppedError("seam healing stopped; both chunks are unchanged")
    return zero_gpu_seam_call()(preset, left, right, prompt, seed)


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
