"""The memory plan (studio.models.memory), `models check` on an empty cache, and where models sit on the GPU.

No GPU here: device placement is checked with a recorded sequence of moves (studio.models.cache.move) under a
device_for that answers "cuda", which is what the code sees on a GPU."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch


@pytest.fixture
def fake_gpu(monkeypatch):
    """Call it to make device_for answer cuda and record every move instead of doing it; returns
    {id(module): 'cuda' | 'cpu'}, the device each module was last moved to."""
    from studio.models import cache

    where: dict[int, str] = {}

    def move(module, device):
        where[id(module)] = str(torch.device(device).type)
        return module

    def activate() -> dict[int, str]:
        monkeypatch.setattr(cache, "device_for", lambda preset: torch.device("cuda"))
        monkeypatch.setattr(cache, "move", move)
        monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
        return where

    return activate


def test_models_check_on_an_empty_cache_lists_every_repository_and_exits_2(tmp_path, monkeypatch, capsys):
    """Catches: a check that reports ready (or crashes) before anything is downloaded, a repository left out,
    a download size missing, a stage whose peak is over the preset's gpu_memory_gb."""
    from huggingface_hub import constants

    from studio.cli import main
    from studio.config import load_preset

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    code = main(["models", "check", "--preset", "gpu", "--json"])
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert code == 2 and report["ok"] is False and "Traceback" not in err
    preset = load_preset("gpu")
    listed = {row["repo"] for row in report["components"]}
    assert listed == set(preset.models.repos)
    for row in report["components"]:
        assert row["cached"] is False and row["download_bytes"] > 0 and row["problems"]
        assert set(row) >= {"name", "repo", "revision", "download_bytes", "cached", "problems"}
    assert report["disk_bytes"] > 35e9  # the 25.6 GB checkpoint, the rest, and its conversion
    stages = report["memory"]["stages"]
    assert set(stages) >= {"references", "first_chunk", "generate", "refine", "seam"}
    assert all(stage["peak_gb"] <= report["memory"]["budget_gb"] == preset.gpu_memory_gb for stage in stages.values())


def test_the_plan_follows_the_settings_and_the_old_settings_do_not_fit():
    """Catches: a plan that ignores the preset (windows per call, feed-forward slices, between_stages), and the old
    behaviour (every model kept, 96 frames per refine call) passing as fitting 16 GB or 24 GB."""
    from studio.config import load_preset
    from studio.models.memory import plan

    preset = load_preset("gpu")
    now = plan(preset)
    assert now["refine"].peak_gb <= 24 and max(stage.peak_gb for stage in now.values()) <= preset.gpu_memory_gb
    old = copy.deepcopy(preset)
    old.models.between_stages, old.refine.windows_per_call, old.refine.feed_forward_tokens = "keep", 2, 0
    before = plan(old)
    assert before["refine"].activations_gb > 2 * now["refine"].activations_gb
    assert before["refine"].peak_gb > 24 and before["generate"].weights_gb > now["generate"].weights_gb
    offload = copy.deepcopy(preset)
    offload.models.cpu_offload = True
    assert plan(offload)["generate"].weights_gb < now["generate"].weights_gb


def test_the_apm_encoder_and_resampler_are_on_the_gpu_together_with_cpu_offload(tiny_preset, fake_gpu, monkeypatch):
    """Catches (fails on the old code): apm_tokens moved the image encoder to the GPU, then the resampler, which
    sent the encoder back to the CPU, so CPU embeddings met a CUDA resampler on every chunk with an anchor."""
    from studio.generate import apm
    from studio.generate.sampler import StreamingPipeline

    preset = copy.deepcopy(tiny_preset)
    preset.models.cpu_offload = True
    pipe = StreamingPipeline(preset)  # built on the CPU; from here on the code sees a GPU
    where = fake_gpu()
    seen = {}

    def anchor_tokens(images, encoder, processor, resampler):
        seen.update(encoder=where.get(id(encoder)), resampler=where.get(id(resampler)))
        return torch.zeros(2, resampler.num_tokens, resampler.token_dim)

    monkeypatch.setattr(apm, "anchor_tokens", anchor_tokens)
    pipe.apm_tokens(np.zeros((preset.streaming.height, preset.streaming.width, 3), np.uint8))
    assert seen == {"encoder": "cuda", "resampler": "cuda"}
    from studio.models.cache import onto_device

    onto_device(preset, pipe.vae)  # the next model: both leave
    assert where[id(pipe.image_encoder)] == "cpu" and where[id(pipe.model.resampler)] == "cpu"


def test_entering_a_stage_moves_the_other_models_off_the_gpu(tiny_preset, fake_gpu):
    """Catches: models of earlier stages left on the GPU (nothing was ever freed: 17.3 GiB of weights resident)."""
    from studio.models import cache
    from studio.models.cache import cached, clear_cache
    from studio.models.memory import enter_stage

    where = fake_gpu()
    clear_cache()
    modules = {name: cached(tiny_preset, name, lambda: torch.nn.Linear(2, 2))
               for name in ("llm", "text_to_image", "image_encoder", "text_encoder", "streaming_model", "vae",
                            "refiner_unet")}
    try:
        moved = enter_stage(tiny_preset, "refine")
        assert set(moved) == {"llm", "text_to_image", "image_encoder", "streaming_model"}
        assert all(where[id(modules[n])] == "cuda" for n in ("text_encoder", "refiner_unet", "vae"))
        enter_stage(tiny_preset, "generate")
        assert where[id(modules["refiner_unet"])] == "cpu" and where[id(modules["streaming_model"])] == "cuda"
        freeing = copy.deepcopy(tiny_preset)
        freeing.models.between_stages = "free"  # moved off and dropped from the cache (loaded again when needed)
        assert "vae" in enter_stage(freeing, "plan")
        assert {name for (_, name) in cache._cache} == {"llm"} and where[id(modules["vae"])] == "cpu"
    finally:
        clear_cache()


def test_feed_forward_slices_give_the_same_output():
    """Catches: a sliced feed-forward that drops, reorders or double-counts tokens (spatial and temporal blocks)."""
    from studio.models import tiny
    from studio.models.memory import chunk_feed_forward

    unet = tiny.unet3d()
    sample = torch.randn(2, 4, 3, 8, 8)
    text = torch.randn(2, 77, tiny.TEXT_DIM)
    with torch.no_grad():
        whole = unet(sample, torch.tensor(10), encoder_hidden_states=text).sample
        assert chunk_feed_forward(unet, 16) > 0
        sliced = unet(sample, torch.tensor(10), encoder_hidden_states=text).sample
    torch.testing.assert_close(sliced, whole, rtol=1e-4, atol=1e-5)


def test_the_streaming_forward_takes_latents_the_up_factor_does_not_divide():
    """Catches (fails on the old forward): frames that are not a multiple of 64 px gave latents the upsamplers
    doubled past their skips ("Expected size 10 but got 9"); diffusers passes upsample_size, and so must we."""
    from studio.models.tiny_release import tiny_streaming_model

    model = tiny_streaming_model(synthetic_release=False)
    sample = torch.randn(1, 4, 3, 9, 9)
    text = torch.randn(1, 77, 32)
    with torch.no_grad():
        ours = model(sample, torch.tensor(10), text)
        theirs = model.unet.__class__.forward(model.unet, sample, torch.tensor(10), encoder_hidden_states=text).sample
    assert ours.shape == (1, 4, 3, 9, 9)
    assert torch.isfinite(ours).all() and theirs.shape == ours.shape


def test_the_zerogpu_preset_pins_the_same_repositories_and_bad_pins_are_refused():
    """Catches: the two hub presets drifting apart, and a malformed models.repos entry accepted silently."""
    from studio.config import load_preset, preset_from_dict
    from studio.errors import StudioError

    assert load_preset("zerogpu").models.repos == load_preset("gpu").models.repos
    with pytest.raises(StudioError, match="models.repos.a/b.variant"):
        preset_from_dict({"name": "x", "models": {"repos": {"a/b": {"variant": "int8"}}}})
    with pytest.raises(StudioError, match="unknown key"):
        preset_from_dict({"name": "x", "models": {"repos": {"a/b": {"revison": "main"}}}})
