"""Chunk 0 of a text-started scene comes from the untouched public UNet with the `first_chunk` section's
solver, steps and guidance; an image-started chunk 0 and every later chunk from the streaming model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from studio.errors import StudioError
from studio.generate import sampler
from studio.generate.sampler import StreamingPipeline
from studio.models.cache import get_component


@pytest.fixture(scope="module")
def preset(tiny_preset):
    # Distinct values in each section, so a test can tell which one reached the loop.
    streaming = dataclasses.replace(tiny_preset.streaming, width=16, height=16, steps=2, guidance=7.5, max_chunks=4)
    first = dataclasses.replace(tiny_preset.first_chunk, unet="base", scheduler="dpm-solver-multistep", steps=3,
                                guidance=6.0)
    return dataclasses.replace(tiny_preset, streaming=streaming, first_chunk=first)


@pytest.fixture
def spy(monkeypatch, preset):
    """Records every scheduler made (its class and steps), each step's model output, and every forward of
    the public UNet (its batch-2 noise prediction) and of the streaming model."""
    seen = {"schedulers": [], "step_noise": [], "base_out": [], "streaming_calls": 0}
    make = sampler.make_scheduler

    def recording_make(name, base):
        scheduler = make(name, base)
        step = scheduler.step

        def recording_step(model_output, *args, **kwargs):
            seen["step_noise"].append(model_output.clone())
            return step(model_output, *args, **kwargs)

        scheduler.step = recording_step
        seen["schedulers"].append(scheduler)
        return scheduler

    monkeypatch.setattr(sampler, "make_scheduler", recording_make)
    pipe = StreamingPipeline(preset)
    base_unet = get_component(preset, "first_chunk_unet")

    def on_streaming(module, args, out):
        seen["streaming_calls"] += 1

    handles = [base_unet.register_forward_hook(lambda module, args, out: seen["base_out"].append(out.sample.clone())),
               pipe.model.register_forward_hook(on_streaming)]
    yield pipe, seen
    for handle in handles:
        handle.remove()


def frames(seed: int, count: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, 16, 16, 3), dtype=np.uint8)


def test_a_text_started_chunk_0_runs_the_public_unet_with_the_first_chunk_settings(spy, preset):
    import diffusers

    pipe, seen = spy
    chunk = pipe.make_chunk("a fox", None, None, seed=1, keep_context=True)
    assert chunk.shape == (16, 16, 16, 3)
    (scheduler,) = seen["schedulers"]
    assert type(scheduler) is diffusers.DPMSolverMultistepScheduler
    assert scheduler.num_inference_steps == len(seen["base_out"]) == 3  # first_chunk.steps, not streaming.steps
    assert seen["streaming_calls"] == 0
    for out, noise in zip(seen["base_out"], seen["step_noise"]):
        uncond, cond = out.chunk(2)  # (1, C, F, h, w) each
        assert torch.allclose(noise, uncond + 6.0 * (cond - uncond), atol=1e-5)  # first_chunk.guidance
    # The solver is built from the base model's own scheduler config (ModelScope's betas).
    assert scheduler.config.beta_schedule == pipe.base_scheduler.config.beta_schedule == "scaled_linear"


@pytest.mark.parametrize("started_from", ["scene image", "previous chunk"])
def test_an_image_started_chunk_0_and_later_chunks_run_the_streaming_model_with_ddim(spy, started_from):
    import diffusers

    pipe, seen = spy
    if started_from == "scene image":
        image = frames(3, 1)[0]
        context, anchor = np.repeat(image[None], 8, axis=0), image  # what the stage passes for an image-started chunk 0
    else:
        context, anchor = frames(4, 8), frames(5, 1)[0]
    pipe.make_chunk("a fox", context, anchor, seed=1, keep_context=started_from == "scene image")
    (scheduler,) = seen["schedulers"]
    assert type(scheduler) is diffusers.DDIMScheduler and scheduler.num_inference_steps == 2
    assert seen["streaming_calls"] == 2 and seen["base_out"] == []


def test_a_scene_from_text_runs_the_public_unet_once_then_the_streaming_model(spy, preset, tmp_path):
    from studio.generate.stage import generate_scene
    from studio.project.model import Scene, Script, new_project, save_project

    pipe, seen = spy
    scene = Scene(id="s1", title="fox", event="a fox runs", background="a forest", n_chunks=2, seed=7)
    save_project(new_project("p", "tiny", Script(prompt="a fox", scenes=[scene])), tmp_path / "p")
    events = list(generate_scene(tmp_path / "p", preset, "s1"))
    assert [e.num_frames for e in events] == [16, 8]
    assert [type(s).__name__ for s in seen["schedulers"]] == ["DPMSolverMultistepScheduler", "DDIMScheduler"]
    assert len(seen["base_out"]) == 3 and seen["streaming_calls"] == 2


def test_the_streaming_setting_restores_the_old_chunk_0(spy, preset):
    pipe, seen = spy
    old = dataclasses.replace(preset, first_chunk=dataclasses.replace(preset.first_chunk, unet="streaming"))
    StreamingPipeline(old).make_chunk("a fox", None, None, seed=1, keep_context=True)
    assert seen["base_out"] == [] and seen["streaming_calls"] == 2
    assert type(seen["schedulers"][0]).__name__ == "DDIMScheduler"


def test_the_public_unet_is_untouched_and_shares_the_vae_and_text_encoder(preset):
    from studio.models import cache, tiny

    pipe = StreamingPipeline(preset)
    pipe.make_chunk("a fox", None, None, seed=1, keep_context=True)
    base_unet = get_component(preset, "first_chunk_unet")
    assert base_unet is not pipe.model.unet
    # Untouched: the public weights (the release changed the streaming UNet's) and diffusers' own processors.
    public = tiny.unet3d(seed_offset=2).state_dict()
    assert all(torch.equal(value, public[key]) for key, value in base_unet.state_dict().items())
    assert any(not torch.equal(value, public[key]) for key, value in pipe.model.unet.state_dict().items() if key in public)
    assert {type(p).__module__.split(".")[0] for p in base_unet.attn_processors.values()} == {"diffusers"}
    # One VAE and one text encoder serve both UNets: the same cached objects, built once.
    assert pipe.vae is get_component(preset, "vae") and pipe.text_encoder is get_component(preset, "text_encoder")
    key = cache.preset_key(preset)
    built = [name for (owner, name) in cache._cache if owner == key]
    assert built.count("vae") == 1 and built.count("text_encoder") == 1
    assert sum(isinstance(model, type(pipe.vae)) for (owner, _), model in cache._cache.items() if owner == key) == 1


def test_the_same_seed_gives_the_same_chunk_0(preset):
    pipe = StreamingPipeline(preset)
    first = pipe.make_chunk("a fox", None, None, seed=11, keep_context=True)
    assert np.array_equal(first, pipe.make_chunk("a fox", None, None, seed=11, keep_context=True))
    assert not np.array_equal(first, pipe.make_chunk("a fox", None, None, seed=12, keep_context=True))


def test_an_anchor_without_context_is_refused_on_the_public_unet(preset):
    with pytest.raises(StudioError, match="takes no anchor") as error:
        StreamingPipeline(preset).make_chunk("a fox", None, frames(3, 1)[0], seed=0)
    assert "\n" not in str(error.value)
