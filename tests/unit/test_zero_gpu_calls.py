"""ZeroGPU calls: each one's budget from its own arguments, and keep-later seam healing inside a GPU call."""

from __future__ import annotations

import copy

import numpy as np


def test_a_chunk_budget_comes_from_its_own_steps_frames_and_size():
    """Catches: one budget for every call (a text-started chunk 0 runs first_chunk's steps, the others the
    streaming steps), and a budget that ignores the frame count or size."""
    from studio.config import load_preset
    from studio.generate.gpu_chunk import _budget
    from studio.gpu import call_seconds, chunk_gpu_seconds

    preset = copy.deepcopy(load_preset("zerogpu"))
    preset.first_chunk.steps = 50
    context = np.zeros((preset.streaming.context_frames, 8, 8, 3), np.uint8)
    text_started, continuing = _budget(preset, "a fox", None), _budget(preset, "a fox", context)
    assert text_started == chunk_gpu_seconds(preset, text_started=True) > continuing == chunk_gpu_seconds(preset, False)
    assert call_seconds(25, 32, 256, 256) > call_seconds(25, 16, 256, 256)
    assert call_seconds(25, 16, 512, 512) > call_seconds(25, 16, 256, 256)


def test_keep_later_seam_healing_runs_inside_a_gpu_call(tiny_preset, monkeypatch):
    """Catches (fails on the old code): seam healing for keep-later ran the refiner in the main process, outside
    any spaces.GPU call (on ZeroGPU only emulated CUDA is there)."""
    from studio.generate import gpu_chunk
    from studio.gpu import seam_gpu_seconds

    budgets = []

    def gpu_entry(duration):
        def decorate(function):
            def call(*args):
                budgets.append(duration(*args))
                return function(*args)
            return call
        return decorate

    monkeypatch.setattr(gpu_chunk, "on_zero_gpu", lambda: True)
    monkeypatch.setattr(gpu_chunk, "gpu_entry", gpu_entry)
    gpu_chunk.zero_gpu_seam_call.cache_clear()
    rng = np.random.default_rng(0)
    s = tiny_preset.streaming
    left = rng.integers(0, 256, (8, s.height, s.width, 3), dtype=np.uint8)
    right = rng.integers(0, 256, (8, s.height, s.width, 3), dtype=np.uint8)
    try:
        healing = gpu_chunk.heal_seam_in_gpu_call(tiny_preset, left, right, prompt="a fox", seed=1, stop=None)
    finally:
        gpu_chunk.zero_gpu_seam_call.cache_clear()
    assert budgets == [seam_gpu_seconds(tiny_preset, 16, s.width, s.height)]
    assert healing.left.shape == left.shape and not np.array_equal(healing.left, left)
