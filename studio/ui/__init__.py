"""The browser studio (the only package that imports gradio): `build_app(preset)` and its launch options."""

from studio.ui.app import build_app, launch_options, queue

__all__ = ["build_app", "launch_options", "queue"]
