"""Fixtures for the UI tests: handlers over a tmp projects root, and a studio served on 127.0.0.1."""

from __future__ import annotations

import socket

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fake_request(session_hash: str):
    import gradio as gr

    return gr.Request(session_hash=session_hash)


@pytest.fixture
def handlers(tiny_preset, projects_root):
    from studio.ui.handlers import Handlers
    from studio.ui.state import Workspace

    return Handlers(tiny_preset, Workspace(projects_root))


@pytest.fixture(scope="module")
def served_studio(tmp_path_factory):
    """The studio on the tiny preset, launched on a free local port; yields (demo, url)."""
    from studio.config import load_preset
    from studio.ui import build_app, launch_options, queue

    root = tmp_path_factory.mktemp("projects")
    demo = queue(build_app(load_preset("tiny"), projects_root=root, preset_reason="tests"))
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True,
                            **launch_options(demo))
    try:
        yield demo, url
    finally:
        demo.close()
