"""The Hugging Face ZeroGPU shim: `@gpu_entry(duration=...)` on the functions that use the GPU.

On a ZeroGPU Space (env SPACES_ZERO_GPU == "true", the same test Gradio makes) the decorator is
`spaces.GPU(duration=...)`, which attaches a GPU slice for the length of each call. Everywhere else —
a laptop, a dedicated GPU, CI — it returns the function unchanged, so `spaces` need not be installed
and nothing is patched at import.
"""

from __future__ import annotations

import logging
import math
import os
from typing import TYPE_CHECKING, Any, Callable, TypeVar

if TYPE_CHECKING:
    from studio.config import Preset

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

# ZeroGPU's own default budget per call; a caller passes more for long work (or a callable of the
# call's arguments that returns seconds).
DEFAULT_DURATION_SECONDS = 60

# One streaming chunk's budget on a ZeroGPU slice (half an H200): moving the models onto the slice,
# then each denoising step of a 256x256 chunk with CAM, APM and guidance (two UNet passes), scaled by
# the frame area. Generous on purpose: ZeroGPU stops a call that outruns its budget.
CHUNK_FIXED_SECONDS = 20.0
CHUNK_SECONDS_PER_STEP_AT_256 = 0.2


def on_zero_gpu() -> bool:
    """True on a Hugging Face ZeroGPU Space."""
    return os.environ.get("SPACES_ZERO_GPU") == "true"


def gpu_entry(duration: int | float | Callable[..., float] = DEFAULT_DURATION_SECONDS) -> Callable[[F], F]:
    """Decorate a GPU entry point: `spaces.GPU(duration=...)` on ZeroGPU, a no-op elsewhere."""

    def decorate(function: F) -> F:
        if not on_zero_gpu():
            return function
        try:
            import spaces  # only present on Spaces; imported here so nothing happens at import
        except ImportError:
            logger.warning("SPACES_ZERO_GPU is set but the `spaces` package is missing; %s runs without a GPU slice",
                           getattr(function, "__qualname__", function))
            return function
        return spaces.GPU(duration=duration)(function)

    return decorate


def call_seconds(steps: int, frames: int, width: int, height: int) -> int:
    """A GPU call's budget from its own work: steps x frames x pixels, at the measured-free rate above
    (per step of a 16-frame 256x256 chunk with guidance), plus the fixed cost of moving the models on."""
    scale = (width * height) / (256 * 256) * frames / 16
    return int(math.ceil(CHUNK_FIXED_SECONDS + CHUNK_SECONDS_PER_STEP_AT_256 * steps * scale))


def chunk_gpu_seconds(preset: "Preset", text_started: bool | None = None) -> int:
    """The ZeroGPU budget of one chunk of this preset, from its steps, frames and frame size.

    `text_started`: the chunk's own recipe (chunk 0 from text runs first_chunk's steps); None: the larger of
    the two, so either fits."""
    from studio.generate.first_chunk import chunk_recipe

    s = preset.streaming
    if preset.models.family == "ltx":  # one clip per chunk, chunk 0 included: no first-chunk recipe
        steps = len(preset.ltx.sigmas) or s.steps
    else:
        kinds = (True, False) if text_started is None else (text_started,)
        steps = max(chunk_recipe(preset, kind).steps for kind in kinds)
    return call_seconds(steps, s.frames_per_chunk, s.width, s.height)


def seam_gpu_seconds(preset: "Preset", frames: int, width: int, height: int) -> int:
    """The budget of one seam healing: the refine steps that SDEdit at seam_strength runs, on `frames` frames."""
    return call_seconds(preset.refine.steps, frames, width, height)
