"""Shared fixtures: the tiny preset, a projects root in tmp_path, and the gpu marker's skip."""

from __future__ import annotations

import os

import pytest

# Two cores: keep torch from oversubscribing them when tests run beside a server thread.
os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def pytest_collection_modifyitems(config, items):
    import torch

    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if item.get_closest_marker("gpu") is not None:  # the marker, not any node named gpu (a checkout folder)
            item.add_marker(skip_gpu)


@pytest.fixture(scope="session")
def tiny_preset():
    from studio.config import load_preset

    return load_preset("tiny")


@pytest.fixture
def projects_root(tmp_path):
    root = tmp_path / "projects"
    root.mkdir()
    return root
