"""studio/gpu.py: spaces.GPU on ZeroGPU, a no-op everywhere else."""

from __future__ import annotations

import sys
import types

from studio.gpu import gpu_entry, on_zero_gpu


def test_no_op_off_spaces(monkeypatch):
    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)

    def work(x):
        return x + 1

    assert not on_zero_gpu()
    assert gpu_entry(duration=120)(work) is work


def test_applies_spaces_gpu_on_zero_gpu(monkeypatch):
    calls = []
    fake = types.ModuleType("spaces")

    def GPU(duration=60):  # noqa: N802 - the real name
        def wrap(function):
            calls.append(duration)
            return lambda *a, **k: ("on-gpu", function(*a, **k))
        return wrap

    fake.GPU = GPU
    monkeypatch.setitem(sys.modules, "spaces", fake)
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    wrapped = gpu_entry(duration=90)(lambda x: x * 2)
    assert wrapped(3) == ("on-gpu", 6) and calls == [90]


def test_missing_spaces_package_falls_back(monkeypatch):
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    monkeypatch.setitem(sys.modules, "spaces", None)  # import fails

    def work():
        return 1

    assert gpu_entry()(work) is work
