"""Offline means offline: the presets that need no network never call the Hugging Face Hub.

The animatic draws everything itself and the tiny preset builds its models in code, so both turn on
the libraries' own offline switches (HF_HUB_OFFLINE and friends) before anything loads. A model that
is then missing (the hub CLIP of the CLIP score, say) fails at once with one line, instead of
retrying downloads for half a minute.
"""

from __future__ import annotations

import logging
import os
import sys

logger = logging.getLogger(__name__)

NETWORK_FREE_BACKENDS = ("animatic", "tiny")
OFFLINE_SWITCHES = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
}


def works_offline(preset) -> bool:
    """Whether every model of the preset is made without the network."""
    return preset.models.backend in NETWORK_FREE_BACKENDS


def is_offline() -> bool:
    """Whether the Hub is switched off in this process (by `go_offline` or by the user)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def go_offline(preset, planner: str | None = None) -> bool:
    """Switch the Hub off for a preset that needs no network (unless `planner` is the remote one).

    The switches are read when huggingface_hub is imported; when it already is, its constant is set
    too. Returns whether the process is offline now.
    """
    if not works_offline(preset) or (planner or preset.planning.planner) == "remote":
        return is_offline()
    for name, value in OFFLINE_SWITCHES.items():
        os.environ.setdefault(name, value)
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None and os.environ["HF_HUB_OFFLINE"] == "1":
        constants.HF_HUB_OFFLINE = True
    logger.debug("preset %s needs no network: the Hugging Face Hub is switched off", preset.name)
    return is_offline()


def planner_unavailable(preset, planner: str) -> str:
    """Why `planner` cannot run on this preset, in the browser's words ('' when it can)."""
    if planner == "remote" and works_offline(preset):
        return f"the remote planner needs the network, and the {preset.name} preset works offline"
    if planner == "local" and preset.models.backend == "animatic":
        return "the local planner needs a language model, and the animatic preset has none"
    return ""
