"""make_chunk from arrays (the benchmark's entry point): schedulers, and settings that reach the loop."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest

from studio.errors import StudioError
from studio.generate.sampler import StreamingPipeline


def small(tiny_preset, **streaming):
    values = dict(width=16, height=16, steps=2)
    values.update(streaming)
    return dataclasses.replace(tiny_preset, streaming=dataclasses.replace(tiny_preset.streaming, **values))


@pytest.mark.parametrize("scheduler", ["ddim", "dpm-solver++", "unipc"])
def test_each_scheduler_makes_a_reproducible_chunk(tiny_preset, scheduler):
    pipe = StreamingPipeline(small(tiny_preset, scheduler=scheduler))
    context = np.random.default_rng(0).integers(0, 256, (8, 16, 16, 3), dtype=np.uint8)
    a = pipe.make_chunk("a fox", context, context[0], seed=3)
    b = pipe.make_chunk("a fox", context, context[0], seed=3)
    assert a.shape == (8, 16, 16, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(a, pipe.make_chunk("a fox", context, context[0], seed=4))


def test_steps_guidance_and_negative_prompt_reach_the_loop(tiny_preset):
    from studio.models.cache import get_component

    preset = small(tiny_preset)
    pipe = StreamingPipeline(preset)
    calls, streaming_calls = [], []
    # A text-started chunk 0 is made by the public UNet (first_chunk.py); the overrides reach its loop.
    handles = [get_component(preset, "first_chunk_unet").register_forward_hook(
                   lambda mod, args, out: calls.append(args[0].shape[0])),
               pipe.model.register_forward_hook(lambda mod, args, out: streaming_calls.append(1))]
    try:
        base = pipe.make_chunk("a fox", None, None, seed=1, keep_context=True, steps=3)
    finally:
        for handle in handles:
            handle.remove()
    assert calls == [2, 2, 2] and streaming_calls == []  # 3 steps, guidance batched into one forward of batch 2
    assert base.shape == (16, 16, 16, 3)
    assert not np.array_equal(base, pipe.make_chunk("a fox", None, None, seed=1, keep_context=True, steps=3, guidance=1.0))
    assert not np.array_equal(base, pipe.make_chunk("a fox", None, None, seed=1, keep_context=True, steps=3,
                                                    negative_prompt="blurry"))


def test_bad_arrays_are_refused(tiny_preset):
    pipe = StreamingPipeline(small(tiny_preset))
    with pytest.raises(StudioError, match="context frames must be uint8 of shape"):
        pipe.make_chunk("a fox", np.zeros((4, 16, 16, 3), np.uint8), None, seed=0)
    with pytest.raises(StudioError, match="anchor must be uint8"):
        pipe.make_chunk("a fox", None, np.zeros((8, 8, 3), np.uint8), seed=0)


def test_ddim_steps_with_the_presets_eta(tiny_preset, monkeypatch):
    """Every DDIM step of a streaming chunk gets the eta of the preset in use (1.0 in the shipped presets, as the
    official sampler), and eta changes the chunk. Catches eta ignored (DDIM's default 0.0, or a constant) instead
    of `streaming.eta`."""
    from diffusers import DDIMScheduler

    from studio.config import load_preset

    for name in ("gpu", "tiny"):
        assert load_preset(name).streaming.eta == 1.0 and load_preset(name).streaming.scheduler == "ddim", name
    etas = []
    original = DDIMScheduler.step

    @functools.wraps(original)  # keeps the signature the sampler inspects for `eta`
    def step(self, *args, **kwargs):
        etas.append(kwargs.get("eta", "not given"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(DDIMScheduler, "step", step)
    context = np.random.default_rng(1).integers(0, 256, (8, 16, 16, 3), dtype=np.uint8)
    chunks = {}
    for eta in (1.0, 0.25):
        etas.clear()
        chunks[eta] = StreamingPipeline(small(tiny_preset, eta=eta)).make_chunk("a fox", context, context[0], seed=5)
        assert etas == [eta, eta], eta  # two steps, each with the preset's eta
    assert not np.array_equal(chunks[1.0], chunks[0.25])
