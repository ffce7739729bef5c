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


def chunk_gpu_seconds(preset: "Preset") -> int:
    """The ZeroGPU budget of one chunk of this preset, from its steps and frame size.

    The steps are the larger of the streaming chunks' and a text-started chunk 0's (first_chunk), so
    either fits; the public UNet's step costs less (no CAM), which leaves a margin."""
    s = preset.streaming
    area = (s.width * s.height) / (256 * 256)
    if preset.models.family == "ltx":  # one clip per chunk, chunk 0 included: no first-chunk UNet
        steps = len(preset.ltx.sigmas) or s.steps
    else:
        steps = max(s.steps, preset.first_chunk.steps if preset.first_chunk.unet == "base" else 0)
    return int(math.ceil(CHUNK_FIXED_SECONDS + CHUNK_SECONDS_PER_STEP_AT_256 * steps * area))
