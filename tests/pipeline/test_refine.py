"""Stage 4: the windowed SDEdit loop with tiny models, and refine_scene on a project built in tmp_path."""

from __future__ import annotations

import dataclasses
import json
import threading

import numpy as np
import pytest
import torch

from studio.config import REFINE_MODES as MODES
from studio.errors import StoppedError, StudioError
from studio.media.video import read_video, save_frames
from studio.project.model import Chunk, Scene, Script, load_project, new_project, save_project
from studio.project.paths import ProjectPaths
from studio.models.sdedit import denoise_video, sdedit_timesteps
from studio.refine.stage import refine_scene, refine_size


@pytest.fixture(scope="module")
def parts(tiny_preset):
    from diffusers import DDIMScheduler

    from studio.models.cache import get_component

    unet = get_component(tiny_preset, "refiner_unet")
    scheduler_config = get_component(tiny_preset, "scheduler").config
    from studio.models.diffusion import encode_prompts

    tokenizer, text_encoder = get_component(tiny_preset, "tokenizer"), get_component(tiny_preset, "text_encoder")
    states = encode_prompts(tokenizer, text_encoder, ["", "a red fox runs"])  # (2, 77, D)
    return unet, (lambda: DDIMScheduler.from_config(scheduler_config)), states


@pytest.fixture
def small_preset(tiny_preset):
    """The tiny preset at a smaller size (16x16 drafts -> 32x32, still x2) so each test takes seconds."""
    return dataclasses.replace(tiny_preset, refine=dataclasses.replace(tiny_preset.refine, width=32, height=32))


class Recorder:
    """Wraps the UNet and keeps the windows it sees at the first call."""

    def __init__(self, unet):
        self.unet, self.device, self.dtype, self.inputs = unet, unet.device, unet.dtype, []

    def __call__(self, sample, timestep, **kwargs):
        self.inputs.append(sample.clone())
        return self.unet(sample, timestep, **kwargs)


def _latents(num_frames, seed=0):
    return torch.randn(1, 4, num_frames, 8, 8, generator=torch.Generator().manual_seed(seed))  # (1, 4, T, h, w)


def _denoise(parts, latents, mode, seed=0, window=8, overlap=4, **kwargs):
    unet, make_scheduler, states = parts
    return denoise_video(latents, unet=kwargs.pop("unet", unet), scheduler=make_scheduler(), text_states=states,
                         window=window, overlap=overlap, steps=3, strength=0.6, guidance=7.5, mode=mode,
                         generator=torch.Generator().manual_seed(seed), **kwargs)


def test_one_window_is_plain_sdedit(parts):
    unet, make_scheduler, states = parts
    latents = _latents(6)
    # Plain SDEdit, written out: noise to the start step, then guided DDIM steps over the whole clip.
    scheduler = make_scheduler()
    timesteps = sdedit_timesteps(scheduler, 3, 0.6)
    generator = torch.Generator().manual_seed(0)
    sample = scheduler.add_noise(latents, torch.randn(latents.shape, generator=generator), timesteps[:1])
    with torch.no_grad():
        for t in timesteps:
            negative, positive = unet(torch.cat([sample, sample]), t, encoder_hidden_states=states).sample.chunk(2)
            sample = scheduler.step(negative + 7.5 * (positive - negative), t, sample).prev_sample
    for mode in MODES:  # one window: nothing to blend, every mode is plain SDEdit
        assert torch.allclose(_denoise(parts, latents, mode), sample, atol=1e-5), mode


def test_sdedit_starts_near_t600(parts):
    _, make_scheduler, _ = parts
    assert int(sdedit_timesteps(make_scheduler(), 30, 0.6)[0]) in range(560, 601)
    with pytest.raises(StudioError, match="strength 1.5"):
        sdedit_timesteps(make_scheduler(), 3, 1.5)
    with pytest.raises(StudioError, match="too low"):
        sdedit_timesteps(make_scheduler(), 3, 0.0001)


def test_same_seed_same_output_and_modes_differ(parts):
    latents = _latents(12)  # windows of 8 at 0 and 4: overlap 4
    # Seed 1 draws cuts other than the middle one (seed 0 happens to draw the middle cut at both steps).
    outputs = {mode: _denoise(parts, latents, mode, seed=1) for mode in MODES}
    for mode in MODES:
        assert outputs[mode].shape == (1, 4, 12, 8, 8)
        assert torch.equal(_denoise(parts, latents, mode, seed=1), outputs[mode]), mode  # bit-identical rerun
    assert not torch.equal(_denoise(parts, latents, "randomized", seed=2), outputs["randomized"])
    for a, b in (("randomized", "shared-noise"), ("randomized", "naive"), ("shared-noise", "naive")):
        assert (outputs[a] - outputs[b]).abs().max() > 1e-3, (a, b)


def test_shared_noise_is_identical_in_overlaps(parts):
    unet = parts[0]
    latents = _latents(12)
    for mode, shared in (("randomized", True), ("shared-noise", True), ("naive", False)):
        recorder = Recorder(unet)
        _denoise(parts, latents, mode, unet=recorder)
        first = recorder.inputs[0]  # (2 * 2 windows, 4, 8, h, w): [window 0, window 1] x2 for guidance
        earlier, later = first[0, :, 4:8], first[1, :, 0:4]  # frames 4..7 as each window sees them
        assert torch.equal(earlier, later) is shared, mode


def test_stop_and_bad_mode(parts):
    stop = threading.Event()
    stop.set()
    with pytest.raises(StoppedError):
        _denoise(parts, _latents(12), "randomized", stop=stop)
    with pytest.raises(StudioError, match="'smooth'"):
        _denoise(parts, _latents(12), "smooth")
    with pytest.raises(StudioError, match="larger than the overlap"):
        _denoise(parts, _latents(12), "randomized", window=4, overlap=4)


def test_refine_size_keeps_aspect_ratio():
    assert refine_size(256, 256, 720, 720) == (720, 720)
    assert refine_size(32, 32, 64, 64) == (64, 64)
    width, height = refine_size(256, 144, 720, 720)
    assert width % 8 == 0 and height % 8 == 0 and abs(width / height - 16 / 9) < 0.02
    with pytest.raises(StudioError, match="700x720"):
        refine_size(256, 256, 700, 720)


# ----------------------------------------------------------------------------- refine_scene on a project


def _make_project(root, chunk_sizes=(16, 8), size=(16, 16), with_chunks=True):
    """A project with one scene whose draft is made of ready chunks of moving stripes."""
    paths = ProjectPaths(root)
    height, width = size
    yy, xx = np.mgrid[0:height, 0:width]
    chunks, t = [], 0
    for index, count in enumerate(chunk_sizes if with_chunks else ()):
        frames = np.stack([
            np.stack([128 + 100 * np.sin(xx / 3 + 0.3 * (t + i)), 128 + 100 * np.cos(yy / 4), np.full_like(xx, 90)], -1)
            for i in range(count)
        ]).clip(0, 255).astype(np.uint8)  # (count, H, W, 3)
        t += count
        save_frames(frames, paths.take_frames("s1", index, 1))
        chunks.append(Chunk(index=index, seed=index, prompt="a fox"))
    scene = Scene(id="s1", title="Fox", event="a red fox runs", chunks=chunks, seed=4)
    save_project(new_project("proj", "tiny", Script(prompt="a fox", scenes=[scene])), root)
    return paths


def test_refine_scene_writes_video_slice_and_project(tmp_path, small_preset):
    paths = _make_project(tmp_path)
    chunk_bytes = paths.take_frames("s1", 0, 1).read_bytes()
    fractions = []
    result = refine_scene(tmp_path, small_preset, "s1", progress=lambda f, m: fractions.append(f))
    frames, fps = read_video(result.path)
    assert frames.shape == (24, 32, 32, 3) and fps == small_preset.streaming.fps
    assert (result.num_frames, result.width, result.height, result.mode) == (24, 32, 32, "randomized")
    assert result.path == paths.refined("s1") and result.xt_slice_path.is_file()
    from studio.media.video import load_scene_frames
    from studio.metrics.seams import seam_score

    draft = load_scene_frames(tmp_path, load_project(tmp_path).script.scene("s1"))
    assert result.seam_score_draft == pytest.approx(seam_score(draft))  # the score of the draft, not any number
    assert np.isfinite(result.seam_score_refined)
    assert load_project(tmp_path).script.scene("s1").refined_outdated is False
    assert paths.take_frames("s1", 0, 1).read_bytes() == chunk_bytes  # the draft is untouched
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) >= 4


def test_refine_scene_stop_leaves_everything(tmp_path, small_preset):
    paths = _make_project(tmp_path)
    before = paths.project_file.read_bytes()
    stop = threading.Event()

    def progress(fraction, message):
        if "step 1/" in message:
            stop.set()

    with pytest.raises(StoppedError):
        refine_scene(tmp_path, small_preset, "s1", progress=progress, stop=stop)
    assert paths.project_file.read_bytes() == before
    assert not paths.refined("s1").exists()


def test_refine_scene_bad_inputs(tmp_path, small_preset):
    _make_project(tmp_path, with_chunks=False)
    with pytest.raises(StudioError, match="no draft"):
        refine_scene(tmp_path, small_preset, "s1")
    _make_project(tmp_path)
    odd = dataclasses.replace(small_preset, refine=dataclasses.replace(small_preset.refine, width=36, height=36))
    with pytest.raises(StudioError, match="36x36"):
        refine_scene(tmp_path, odd, "s1")
    with pytest.raises(StudioError, match="'blurry'"):
        refine_scene(tmp_path, small_preset, "s1", mode="blurry")
    with pytest.raises(StudioError, match="'nope'"):
        refine_scene(tmp_path, small_preset, "nope")
    assert not (tmp_path / "scenes/s1/refined.mp4").exists()


def test_animatic_refine_is_a_lanczos_upscale(tmp_path, caplog):
    from studio.config import load_preset

    animatic = load_preset("animatic")
    _make_project(tmp_path, chunk_sizes=(16,), size=(16, 24))  # non-square: the aspect ratio is kept
    with caplog.at_level("INFO", logger="studio.refine.stage"):
        result = refine_scene(tmp_path, animatic, "s1")
    assert result.mode == "lanczos" and "Lanczos" in caplog.text
    assert result.num_frames == 16 and result.width % 8 == 0 and result.height % 8 == 0
    assert abs(result.width / result.height - 1.5) < 0.05
    assert (tmp_path / "scenes/s1/refined.mp4").is_file()
    assert "refined" not in json.loads((tmp_path / "project.json").read_text())["script"]["scenes"][0]  # no path on record


@pytest.mark.slow
def test_cli_generate_then_refine_end_to_end(tmp_path, capsys):
    """The done criterion: after `generate --chunks 5` on tiny, refine keeps every frame at twice the size."""
    from studio.cli import main

    project = tmp_path / "fox"
    assert main(["plan", "a red fox runs through a snowy forest", "--scenes", "1", "--project", str(project),
                 "--preset", "tiny"]) == 0
    assert main(["generate", str(project), "--chunks", "5", "--preset", "tiny"]) == 0
    scene = load_project(project).script.scenes[0]
    draft, _ = read_video(project / "scenes" / scene.id / "draft.mp4")
    assert main(["refine", str(project), "--mode", "randomized", "--seed", "3", "--preset", "tiny"]) == 0
    assert "seam score draft" in capsys.readouterr().out
    refined, _ = read_video(project / "scenes" / scene.id / "refined.mp4")
    assert draft.shape == (48, 32, 32, 3) and refined.shape == (48, 64, 64, 3)
    assert (project / "scenes" / scene.id / "refined_xt.png").is_file()


def test_every_asked_for_refine_step_runs_from_strength_times_T():
    """30 steps at strength 0.6 run 30 steps (not the 19 of a 30-step schedule below t = 600), from t = 599
    with trailing spacing as the official refiner."""
    from diffusers import DDIMScheduler

    trailing = DDIMScheduler(num_train_timesteps=1000, timestep_spacing="trailing")
    timesteps = sdedit_timesteps(trailing, 30, 0.6)
    assert len(timesteps) == 30 and int(timesteps[0]) == 599 and list(timesteps) == sorted(timesteps, reverse=True)
    assert len(sdedit_timesteps(DDIMScheduler(num_train_timesteps=1000), 30, 0.6)) == 30
    assert len(sdedit_timesteps(trailing, 10, 1.0)) == 10 and int(sdedit_timesteps(trailing, 10, 1.0)[0]) == 999


def test_guidance_rescale_pulls_the_guided_spread_towards_the_positive_prediction(tiny_preset):
    import torch

    from studio.models.cache import get_component
    from studio.models.diffusion import encode_prompts
    from studio.models.sdedit import predict_windows

    unet = get_component(tiny_preset, "refiner_unet")
    states = encode_prompts(get_component(tiny_preset, "tokenizer"), get_component(tiny_preset, "text_encoder"),
                            ["", "a red fox runs"])
    windows = torch.randn(1, unet.config.in_channels, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    plain = predict_windows(unet, windows, 500, states, 7.5)
    rescaled = predict_windows(unet, windows, 500, states, 7.5, guidance_rescale=1.0)
    positive = predict_windows(unet, windows, 500, states, 1.0)  # guidance 1 is the positive prediction alone
    assert not torch.allclose(plain, rescaled)
    assert abs(float(rescaled.std()) - float(positive.std())) < abs(float(plain.std()) - float(positive.std()))


def test_the_refiner_runs_the_trailing_schedule_with_the_presets_rescale(tiny_preset, monkeypatch):
    """What sdedit_frames hands the denoising loop: a scheduler whose 30 steps at strength 0.6 start at t = 599
    (trailing spacing, as the official refiner) and the preset's guidance rescale. Catches leading spacing (the
    base scheduler's own config: 30 steps from t = 581) and a rescale dropped on the way to the loop."""
    from studio.models import sdedit
    from studio.models.sdedit import sdedit_frames

    handed = {}

    def denoise_video(latents, **kwargs):
        handed.update(kwargs)
        return latents

    monkeypatch.setattr(sdedit, "denoise_video", denoise_video)
    preset = dataclasses.replace(tiny_preset, refine=dataclasses.replace(tiny_preset.refine, guidance_rescale=0.2))
    sdedit_frames(preset, np.zeros((4, 32, 32, 3), np.uint8), "a fox", strength=0.6, seed=0, mode="randomized")
    assert handed.get("guidance_rescale", 0.0) == 0.2  # the loop's default is plain guidance
    timesteps = sdedit_timesteps(handed["scheduler"], 30, 0.6)
    assert len(timesteps) == 30 and int(timesteps[0]) == 599 and int(timesteps[-1]) == 19


def test_the_gpu_preset_rescales_guidance_as_the_official_refiner():
    """SPEC §2: the official refiner uses guidance rescale 0.2. Catches the gpu preset's rescale set to 0."""
    from studio.config import load_preset

    assert load_preset("gpu").refine.guidance_rescale == 0.2


def test_guidance_rescale_by_value(tiny_preset):
    """Lin et al. 2023, written out: guided = n + g (p - n); rescaled = guided * std(p) / std(guided) per sample;
    out = phi * rescaled + (1 - phi) * guided. Catches rescaling towards the negative prediction's spread, a
    rescale that is dropped, and a phi applied the wrong way round."""
    from studio.models.cache import get_component
    from studio.models.diffusion import encode_prompts
    from studio.models.sdedit import predict_windows

    unet = get_component(tiny_preset, "refiner_unet")
    states = encode_prompts(get_component(tiny_preset, "tokenizer"), get_component(tiny_preset, "text_encoder"),
                            ["", "a red fox runs"])
    windows = torch.randn(2, unet.config.in_channels, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        outputs = [unet(torch.cat([w[None], w[None]]), 500, encoder_hidden_states=states).sample.float() for w in windows]
    negative = torch.cat([o[:1] for o in outputs])
    positive = torch.cat([o[1:] for o in outputs])
    guided = negative + 7.5 * (positive - negative)
    dims = list(range(1, guided.ndim))
    rescaled = guided * positive.std(dim=dims, keepdim=True) / guided.std(dim=dims, keepdim=True)
    expected = 0.2 * rescaled + 0.8 * guided
    got = predict_windows(unet, windows, 500, states, 7.5, guidance_rescale=0.2)
    assert torch.allclose(got, expected, atol=1e-4), float((got - expected).abs().max())
    assert not torch.allclose(got, guided, atol=1e-3)
