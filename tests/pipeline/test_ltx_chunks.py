"""The LTX-Video backend at model level on tiny-ltx: memories, seeds, shapes, refine (tiny parts, a CPU)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from studio.config import load_preset, preset_from_dict
from studio.errors import StudioError


@pytest.fixture(scope="module")
def preset():
    return load_preset("tiny-ltx")


@pytest.fixture(scope="module")
def first_chunk(preset):
    from studio.generate.ltx.chunk import make_ltx_chunk

    return make_ltx_chunk(preset, "a red fox in snow", None, None, 11, keep_context=True)


def _with_ltx(preset, **changes):
    return dataclasses.replace(preset, ltx=dataclasses.replace(preset.ltx, **changes))


def test_chunk_sizes_follow_the_preset(preset, first_chunk):
    """Chunk 0 keeps all 17 frames, a later chunk adds 17 - 9 = 8 at 96x64.
    Bug caught: keeping the conditioned frames in a later chunk (the previous chunk's frames twice)."""
    from studio.generate.ltx.chunk import make_ltx_chunk

    assert first_chunk.shape == (17, 64, 96, 3) and first_chunk.dtype == np.uint8
    later = make_ltx_chunk(preset, "a red fox in snow", first_chunk[-9:], first_chunk[0], 12, keep_context=False)
    assert later.shape == (8, 64, 96, 3)


def test_condition_at_strength_one_keeps_the_encoded_previous_frames(preset, first_chunk):
    """At strength 1 the chunk's first latent frames are exactly the VAE latents of the previous 9 frames; at 0
    they are free and differ. Bug caught: dropping the condition (the chunk does not continue the one before)."""
    import torch

    from studio.generate.ltx.chunk import chunk_latents

    context = first_chunk[-9:]
    models, kept, _ = chunk_latents(preset, "a fox", context, first_chunk[0], 5, keep_context=False)
    encoded = models.encode(context)  # (1, C, 2, h, w): 9 frames are two latent frames
    assert encoded.shape[2] == 2
    assert torch.equal(kept.latents[:, :, :2], encoded)
    _, free, _ = chunk_latents(_with_ltx(preset, condition_strength=0.0), "a fox", context, first_chunk[0], 5,
                               keep_context=False)
    assert (free.latents[:, :, :2] - encoded).abs().max() > 0.1


def test_scene_image_starts_the_scene(preset):
    """Image-to-video: chunk 0 with a scene image has that image's latents as latent frame 0.
    Bug caught: ignoring the scene image (the scene starts from text alone)."""
    import torch

    from studio.generate.ltx.chunk import chunk_latents

    image = np.random.default_rng(3).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    context = np.repeat(image[None], 9, axis=0)  # what the stage hands chunk 0: the scene image repeated
    models, result, _ = chunk_latents(preset, "a fox", context, image, 7, keep_context=True)
    assert result.keep_from == 0
    assert torch.equal(result.latents[:, :, :1], models.encode(image[None]))


def test_rerun_with_the_seed_is_bit_identical(preset, first_chunk):
    """The same seed, prompt and memories give the same frames; another seed or prompt does not.
    Bug caught: noise drawn from the global torch generator, or the prompt ignored (per-chunk prompts)."""
    from studio.generate.ltx.chunk import make_ltx_chunk

    args = (first_chunk[-9:], first_chunk[0])
    one = make_ltx_chunk(preset, "a fox sleeps", *args, 21, keep_context=False)
    import torch

    torch.manual_seed(999)  # the global generator must not matter
    two = make_ltx_chunk(preset, "a fox sleeps", *args, 21, keep_context=False)
    assert np.array_equal(one, two)
    assert not np.array_equal(one, make_ltx_chunk(preset, "a fox sleeps", *args, 22, keep_context=False))
    assert not np.array_equal(one, make_ltx_chunk(preset, "a fox runs", *args, 21, keep_context=False))


def test_adain_pulls_the_new_latents_towards_the_anchor(preset, first_chunk):
    """With adain_factor 1 the new latent frames take the anchor's per-channel mean; with 0 they keep their own.
    Bug caught: the long-term memory not applied (or applied to the wrong frames)."""
    import torch

    from studio.generate.ltx.chunk import chunk_latents

    anchor = np.full((64, 96, 3), (200, 40, 40), dtype=np.uint8)
    off_models, off, _ = chunk_latents(_with_ltx(preset, adain_factor=0.0), "a fox", first_chunk[-9:], anchor, 4,
                                       keep_context=False)
    _, on, _ = chunk_latents(_with_ltx(preset, adain_factor=1.0), "a fox", first_chunk[-9:], anchor, 4, keep_context=False)
    target = off_models.encode(anchor[None]).mean(dim=(2, 3, 4))
    gap_off = (off.latents[:, :, 2:].mean(dim=(2, 3, 4)) - target).abs().max()
    gap_on = (on.latents[:, :, 2:].mean(dim=(2, 3, 4)) - target).abs().max()
    assert gap_on < 1e-4 < gap_off
    assert torch.equal(on.latents[:, :, :2], off.latents[:, :, :2])  # the conditioned frames are left alone


@pytest.mark.parametrize("changes, words", [
    ({"streaming": {"width": 100}}, "multiples of 32"),
    ({"streaming": {"frames_per_chunk": 16}}, "8k + 1"),
    ({"streaming": {"context_frames": 8}}, "8k + 1"),
    ({"refine": {"window": 12}}, "multiples of 8"),
    ({"ltx": {"sigmas": [0.5, 0.9]}}, "decreasing"),
])
def test_shapes_ltx_cannot_make_are_refused_in_one_line(changes, words):
    """A size or frame count LTX cannot make is refused with one line naming the key and a fix.
    Bug caught: a 100-wide preset accepted and failing deep inside the VAE."""
    import yaml

    from studio.config import PRESETS_DIR

    data = yaml.safe_load((PRESETS_DIR / "tiny-ltx.yaml").read_text())
    for section, values in changes.items():
        data[section].update(values) if section in data else data.__setitem__(section, values)
    with pytest.raises(StudioError) as caught:
        preset_from_dict(data, "tiny-ltx.yaml")
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_refine_keeps_the_frame_count_and_doubles_the_size(preset):
    """The latent upscaler then the windowed second pass: 25 frames (four latent frames, three windows) stay 25 at
    twice the size, and the same seed gives the same frames. Bug caught: windows dropping or padding frames."""
    from studio.generate.ltx.refine import ltx_refine_frames

    frames = np.random.default_rng(0).integers(0, 256, (25, 64, 96, 3), dtype=np.uint8)
    out = ltx_refine_frames(preset, frames, "a fox", strength=0.6, seed=3, mode="randomized", upscale=True)
    assert out.shape == (25, 128, 192, 3)
    again = ltx_refine_frames(preset, frames, "a fox", strength=0.6, seed=3, mode="randomized", upscale=True)
    assert np.array_equal(out, again)
    healed = ltx_refine_frames(preset, frames[:10], "a fox", strength=0.35, seed=3, mode="randomized", upscale=False)
    assert healed.shape == (10, 64, 96, 3)  # any length: padded to 8k + 1 and trimmed back


def test_randomized_blending_draws_a_cut_per_overlap_per_step(preset, monkeypatch):
    """Each step of a three-window pass asks the blending for fresh cuts from the seeded generator; shared-noise
    uses the fixed mid cut. Bug caught: the windows merged once (or never) instead of at every step."""
    import studio.models.blending as blending
    from studio.generate.ltx.refine import ltx_refine_frames

    calls = []
    real = blending.blend_sources
    monkeypatch.setattr(blending, "blend_sources", lambda *a, **k: calls.append(a[:3]) or real(*a, **k))
    frames = np.random.default_rng(1).integers(0, 256, (25, 64, 96, 3), dtype=np.uint8)
    ltx_refine_frames(preset, frames, "a fox", strength=0.6, seed=3, mode="randomized", upscale=False)
    assert calls == [(4, 2, 1)] * preset.refine.steps  # 4 latent frames, windows of 2 overlapping by 1, every step
    calls.clear()
    ltx_refine_frames(preset, frames, "a fox", strength=0.6, seed=3, mode="shared-noise", upscale=False)
    assert calls == []


def test_tokenizer_is_built_in_code():
    """The tiny T5 tokenizer needs no file: every byte is a token, `</s>` ends a prompt, `<pad>` is id 0.
    Bug caught: two prompts of the same length encoding alike (a word-level vocabulary of unknowns)."""
    from studio.generate.ltx.components import tiny_tokenizer

    tokenizer = tiny_tokenizer()
    one, two = tokenizer(["a fox", "a cat"], padding="max_length", max_length=8).input_ids
    assert one != two and one[5] == 1 and one[6:] == [0, 0]


def test_bench_ltx_builds_the_full_size_architecture_without_memory():
    """bench-ltx's transformer and text encoder are the full LTX-Video 13B and T5-XXL sizes, built on the meta
    device (no weights in memory). Bug caught: the benchmark timing a smaller model than the ltx preset's."""
    from studio.generate.ltx.components import full_size_on_meta

    transformer = full_size_on_meta("transformer")
    count = sum(p.numel() for p in transformer.parameters())
    assert 12e9 < count < 14.5e9 and next(transformer.parameters()).device.type == "meta"
    encoder = full_size_on_meta("text_encoder")
    assert 4.5e9 < sum(p.numel() for p in encoder.parameters()) < 5e9


def test_bench_reports_seconds_per_second_of_video(preset):
    """`bench` on an LTX preset runs the real loop and counts a chunk's new frames (8 at 8 fps: one second).
    Bug caught: the video seconds counted from the whole 17-frame clip, context included."""
    from studio.generate.ltx.bench import run_ltx_bench as run_bench

    quick = dataclasses.replace(preset, bench=dataclasses.replace(preset.bench, refine=False))
    report = run_bench(quick, chunk_counts=[1])
    assert report["family"] == "ltx" and report["new_frames_per_chunk"] == 8 and report["first_chunk_seconds"] > 0
    assert report["seconds_per_video_second"] == report["seconds_per_chunk_by_chunks"]["1"]
    assert report["parameters"]["transformer"] > 0 and "refine" not in report
