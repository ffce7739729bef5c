"""Quiet libraries: their notices (dtype hints, deprecations, progress bars) only with -v.

The studio's own one-line messages stay; transformers, diffusers, huggingface_hub and torch speak
only to report errors unless the user asks for more.
"""

from __future__ import annotations

import logging
import os
import warnings

NOISY_LIBRARIES = ("transformers", "diffusers", "huggingface_hub", "torch", "accelerate", "moviepy", "httpx")


def quiet_libraries() -> None:
    """Errors only from the libraries; set before they load (their env switches) and after (their loggers)."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    for name in NOISY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.ERROR)
    for module in ("transformers", "diffusers", "torch", "huggingface_hub"):
        warnings.filterwarnings("ignore", category=UserWarning, module=module)
        warnings.filterwarnings("ignore", category=FutureWarning, module=module)
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=module)
