"""Start-up for a Space (ZeroGPU): every download and the checkpoint's conversion before the first GPU call.

ZeroGPU gives each call a short budget and a fresh worker may come for any call, so nothing slow may happen
inside one: `prepare_models` downloads every file the preset records (its revision, with progress), converts
the StreamingT2V checkpoint once, and loads every model onto the CPU (cache._place keeps them there on
ZeroGPU). Each GPU call then only moves its stage's models onto the GPU (studio.models.memory.enter_stage).
"""

from __future__ import annotations

import logging
from typing import Callable

from studio.config import Preset

logger = logging.getLogger(__name__)

# What a Space loads at start-up, in pipeline order (the planner LLM and the CLIP score model are not needed on
# ZeroGPU: the zerogpu preset plans with rules and the QA similarity runs on demand).
START_UP_COMPONENTS = ("tokenizer", "text_encoder", "vae", "scheduler", "image_encoder", "image_processor",
                       "first_chunk_unet", "refiner_unet", "text_to_image")


def download_all(preset: Preset, progress: Callable[[str], None] = logger.info) -> int:
    """Every recorded file of every repository at its revision; returns the bytes the preset records for them."""
    from huggingface_hub import hf_hub_download

    from studio.models.repos import pin_of

    total = sum(sum(pin_of(preset, repo).files.values()) for repo in preset.models.repos)
    done = 0
    for repo in preset.models.repos:
        pin = pin_of(preset, repo)
        for path, size in pin.files.items():
            hf_hub_download(repo, path, revision=pin.revision)
            done += size
            progress(f"downloaded {repo}/{path} ({done / 1e9:.1f} of {total / 1e9:.1f} GB)")
    return total


def prepare_models(preset: Preset, progress: Callable[[str], None] = logger.info) -> None:
    """Downloads, the checkpoint's conversion, and every model loaded onto the CPU, outside any GPU call."""
    from studio.generate.sampler import build_streaming_model
    from studio.models.cache import get_component

    if preset.models.backend != "hub":
        return
    download_all(preset, progress)
    for name in START_UP_COMPONENTS:
        progress(f"loading {name} onto the CPU")
        get_component(preset, name)
    progress("converting and loading the StreamingT2V weights (once)")
    build_streaming_model(preset)
    progress("models ready")
