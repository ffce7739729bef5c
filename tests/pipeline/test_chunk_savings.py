"""The exact savings of the chunk loop: work done once per chunk instead of once per step, and only
the kept frames decoded, give the same chunk as doing everything at every step."""

import copy
from types import SimpleNamespace

import numpy as np
import pytest


@pytest.fixture
def trained_model(tiny_preset):
    """The tiny streaming model with its zero-initialised CAM and APM parts made non-zero (as after
    training), so that both memories change the output; restored afterwards (the model is cached)."""
    import torch

    from studio.generate.sampler import build_streaming_model

    model = build_streaming_model(tiny_preset)
    saved = {name: value.clone() for name, value in model.state_dict().items()}
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        injectors = [*model.cam.injectors_down, model.cam.injector_mid]
        for layer in [i.proj_out for i in injectors] + [model.cam.encoder.controlnet_cond_embedding.conv_out]:
            layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator) * 0.2)
        for processor in model.mixing:
            processor.alpha.fill_(2.0)
    yield model
    model.load_state_dict(saved)


def _inputs(preset):
    s = preset.streaming
    context = np.random.default_rng(0).integers(0, 256, (s.context_frames, s.height, s.width, 3), dtype=np.uint8)
    return context, context[-1]


def _without_savings(preset):
    before = copy.deepcopy(preset)
    before.streaming.reuse_chunk_work = False
    return before


@pytest.mark.parametrize("keep_context", [False, True])
def test_reused_work_gives_the_same_chunk(tiny_preset, trained_model, keep_context):
    from studio.generate.sampler import StreamingPipeline

    context, anchor = _inputs(tiny_preset)
    after = StreamingPipeline(tiny_preset).make_chunk("a fox", context, anchor, seed=3, keep_context=keep_context)
    before = StreamingPipeline(_without_savings(tiny_preset)).make_chunk("a fox", context, anchor, seed=3,
                                                                        keep_context=keep_context)
    assert after.shape == before.shape == ((16 if keep_context else 8), 32, 32, 3)
    assert np.abs(after.astype(int) - before.astype(int)).max() <= 1
    # Not vacuous: the memories this reuses do change the chunk.
    text_only = StreamingPipeline(tiny_preset).make_chunk("a fox", None, None, seed=3, keep_context=keep_context)
    assert np.abs(after.astype(int) - text_only.astype(int)).max() > 10


def _model_inputs(model, batch=2, frames=16, cond=8):
    import torch

    g = torch.Generator().manual_seed(1)
    cfg = model.unet.config
    sample = torch.randn(batch, cfg.in_channels, frames, 8, 8, generator=g)  # the tiny VAE: 32 px -> 8
    text = torch.randn(batch, model.text_tokens, cfg.cross_attention_dim, generator=g)
    image = torch.randn(batch, model.resampler.num_tokens, cfg.cross_attention_dim, generator=g)
    pixels = torch.rand(batch, cond, 3, 32, 32, generator=g) * 2 - 1
    return sample, text, image, pixels


def test_every_step_reuses_the_first_steps_conditioning_work(trained_model):
    import torch

    from studio.generate.step_cache import reuse_across_steps

    sample, text, image, pixels = _model_inputs(trained_model)
    steps = [(sample * scale, torch.tensor(t)) for scale, t in ((1.0, 900), (0.7, 500), (0.3, 100))]
    with torch.inference_mode():
        fresh = [trained_model(x, t, text, image, pixels) for x, t in steps]
        with reuse_across_steps() as memo:
            reused = [trained_model(x, t, text, image, pixels) for x, t in steps]
    for a, b in zip(fresh, reused):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)
    # Each memoised piece is computed at the first step only: the later steps are all hits.
    assert memo.misses > 0 and memo.hits == 2 * memo.misses


def test_new_conditioning_in_the_same_memo_is_computed_afresh(trained_model):
    import torch

    from studio.generate.step_cache import reuse_across_steps

    sample, text, image, pixels = _model_inputs(trained_model)
    other_text, other_image, other_pixels = text.flip(0), image * 0.5, pixels.flip(1)
    t = torch.tensor(500)
    with torch.inference_mode():
        expected = trained_model(sample, t, other_text, other_image, other_pixels)
        with reuse_across_steps():
            trained_model(sample, t, text, image, pixels)
            got = trained_model(sample, t, other_text, other_image, other_pixels)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_nested_parts_are_taken_out_of_the_outer_part(monkeypatch):
    from studio.generate import timing

    clock = iter([0.0, 1.0, 3.0, 10.0])  # unet opens at 0, cam runs 1..3, unet closes at 10
    monkeypatch.setattr(timing, "time", SimpleNamespace(perf_counter=lambda: next(clock)))
    timer = timing.PartTimer()
    with timing.timing_parts(timer):
        with timing.timed("unet"):
            with timing.timed("cam"):
                pass
    assert dict(timer.seconds) == {"cam": 2.0, "unet": 8.0}
    assert timer.total == 10.0


@pytest.mark.slow
def test_the_compiled_step_makes_the_same_chunk(tiny_preset):
    """streaming.compile: the step traced by torch.compile (the eager backend: the graph capture without
    code generation, which a 2-core CPU cannot afford in a test) gives the same frames."""
    import torch

    from studio.generate.sampler import StreamingPipeline

    compiled = copy.deepcopy(tiny_preset)
    compiled.streaming.compile = True
    compiled.streaming.compile_backend = "eager"
    context, anchor = _inputs(tiny_preset)
    pipe = StreamingPipeline(compiled)
    assert isinstance(pipe.denoiser(), torch._dynamo.eval_frame.OptimizedModule)
    expected = StreamingPipeline(tiny_preset).make_chunk("a fox", context, anchor, seed=3, steps=2)
    got = pipe.make_chunk("a fox", context, anchor, seed=3, steps=2)
    assert np.abs(expected.astype(int) - got.astype(int)).max() <= 1
