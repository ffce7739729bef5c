"""The metrics on synthetic videos whose truth is known: a pan, a still, three shots, a flicker."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from studio.errors import StudioError
from studio.media.video import write_mp4
from studio.metrics import evaluate_video, format_report

FPS = 8


def texture(seed: int, height: int = 64, width: int = 512) -> np.ndarray:
    """A smooth random texture (blurred noise): optical flow can lock onto it."""
    import cv2

    noise = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return cv2.GaussianBlur(noise, (9, 9), 2.5)


def pan_frames(num_frames: int = 40, step: int = 2, seed: int = 0) -> np.ndarray:
    """A 128x64 window sliding `step` pixels right per frame over a wide texture."""
    wide = texture(seed)
    return np.stack([wide[:, step * i : step * i + 128] for i in range(num_frames)])  # (T, 64, 128, 3)


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("videos")
    still = np.repeat(texture(1)[None, :, :128], 40, axis=0)
    flicker = still.astype(np.int16) + np.where(np.arange(40) % 2 == 0, 40, -40)[:, None, None, None]
    shots = np.concatenate([pan_frames(16, step=1, seed=seed) for seed in (10, 11, 12)])
    made = {
        "pan": pan_frames(),
        "still": still,
        "flicker": np.clip(flicker, 0, 255).astype(np.uint8),
        "shots": shots,
    }
    return {name: write_mp4(frames, folder / f"{name}.mp4", FPS) for name, frames in made.items()}


@pytest.fixture(scope="module")
def reports(videos):
    return {name: evaluate_video(path) for name, path in videos.items()}


def test_pan_has_no_cut_and_a_finite_mawe(reports):
    pan = reports["pan"]
    assert (pan["frames"], pan["width"], pan["height"], pan["fps"]) == (40, 128, 64, 8.0)
    assert pan["scuts"] == 0
    assert math.isfinite(pan["mawe"])
    # 2 px/frame on a 128-wide frame is 4 px/frame at the 256x256 analysis size.
    assert pan["motion"] == pytest.approx(4.0, rel=0.1)
    assert pan["mawe"] == pytest.approx(pan["warp_error"] / (9.5 * pan["flow_score"]))


def test_still_video_has_an_infinite_mawe_not_nan(reports):
    still = reports["still"]
    assert still["mawe"] == math.inf
    assert still["scuts"] == 0
    assert still["flow_score"] < 1e-4
    assert not any(math.isnan(v) for v in (still["warp_error"], still["flow_score"], still["seam_score"]))
    assert "inf" in format_report(still)


def test_three_shots_give_two_cuts(reports):
    assert reports["shots"]["frames"] == 48
    assert reports["shots"]["scuts"] == 2
    assert "min_scene_len=4" in reports["shots"]["scuts_note"]


def test_flicker_has_a_high_warp_error(reports):
    flicker, pan = reports["flicker"], reports["pan"]
    assert flicker["warp_error"] > 50 * pan["warp_error"]
    assert flicker["warp_error"] > 1000  # +-40 levels every frame: about (80)^2 after clipping
    assert max(row["consistency"] for row in flicker["per_chunk"]) < min(row["consistency"] for row in pan["per_chunk"])


def test_per_chunk_rows_cover_the_video_in_8_frame_chunks(reports):
    rows = reports["pan"]["per_chunk"]
    assert [(r["chunk"], r["start_frame"], r["end_frame"]) for r in rows] == [(i, 8 * i, 8 * i + 8) for i in range(5)]
    for row in rows:
        assert row["motion"] == pytest.approx(4.0, rel=0.15)
        assert 20 < row["consistency"] <= 99


def test_report_is_json_and_says_what_the_mawe_scale_is(reports):
    pan = reports["pan"]
    text = json.dumps(pan)
    assert json.loads(text)["scuts"] == 0
    assert "OpenCV" in pan["mawe_note"] and "RAFT" in pan["mawe_note"]
    assert pan["clip_score"] is None
    assert "MAWE" in format_report(pan)


def test_seam_score_is_low_for_a_steady_pan_and_high_across_cuts(reports):
    assert reports["pan"]["seam_score"] < 0.1
    assert reports["shots"]["seam_score"] > 5 * reports["pan"]["seam_score"]


def test_seam_score_matches_the_seams_module(videos, reports):
    from studio.media.video import read_video
    from studio.metrics.mawe import resize_for_analysis
    from studio.metrics.seams import seam_score

    frames, _ = read_video(videos["shots"])
    assert reports["shots"]["seam_score"] == pytest.approx(seam_score(resize_for_analysis(frames)), rel=1e-5)


def test_plots_are_written(videos, tmp_path):
    report = evaluate_video(videos["pan"], plots_dir=tmp_path / "plots")
    for key in ("per_chunk", "xt_slice"):
        data = open(report["plots"][key], "rb").read(8)
        assert data == b"\x89PNG\r\n\x1a\n"
    assert "plot per_chunk" in format_report(report)


def test_clip_score_with_the_tiny_clip_is_in_range_and_deterministic(videos, tiny_preset):
    from studio.media.video import read_video
    from studio.metrics.clip_score import clip_score

    report = evaluate_video(videos["pan"], prompt="a red fox runs", preset=tiny_preset)
    assert 0.0 <= report["clip_score"] <= 100.0
    assert report["clip_frames"] == 40 and report["prompt"] == "a red fox runs"
    frames, _ = read_video(videos["pan"])
    assert clip_score(frames, "a red fox runs", tiny_preset) == report["clip_score"]  # bit-identical rerun
    assert "CLIP score" in format_report(report)


def test_clip_cosine_matches_clip_models_own_similarity(tiny_preset):
    """Our embeddings and cosine against CLIPModel.forward's logits_per_image / logit_scale."""
    import torch

    from studio.metrics.clip_score import clip_scores
    from studio.models.cache import get_component

    frames = pan_frames(6)
    model, processor = get_component(tiny_preset, "clip")
    for prompt in ("a red fox runs", "a snowy mountain at night"):
        inputs = processor(text=[prompt], images=list(frames), return_tensors="pt", padding=True)
        with torch.inference_mode():
            output = model(**inputs)
            expected = (100 * output.logits_per_image[:, 0] / model.logit_scale.exp()).numpy()  # (6,)
        raw = clip_scores(frames, prompt, tiny_preset, clamp=False)
        np.testing.assert_allclose(raw, expected, atol=1e-3)
        np.testing.assert_array_equal(clip_scores(frames, prompt, tiny_preset), np.maximum(raw, 0))


def test_clip_scores_are_per_frame_and_sampled(tiny_preset):
    from studio.metrics.clip_score import clip_scores, sample_indices

    frames = pan_frames(10)
    scores = clip_scores(frames, "a forest", tiny_preset, limit=4)
    assert scores.shape == (4,) and np.all((scores >= 0) & (scores <= 100))
    assert list(sample_indices(10, 4)) == [0, 3, 6, 9]
    with pytest.raises(StudioError, match="prompt"):
        clip_scores(frames, "   ", tiny_preset)


def test_mawe_is_infinite_only_without_motion():
    from studio.metrics.mawe import motion_aware_warp_error

    assert motion_aware_warp_error(5.0, 0.0) == math.inf
    assert motion_aware_warp_error(5.0, float("nan")) == math.inf
    assert motion_aware_warp_error(9.5, 1.0) == pytest.approx(1.0)


def test_min_scene_len_is_half_a_second_within_bounds():
    from studio.metrics.scuts import min_scene_len_for

    assert [min_scene_len_for(f) for f in (0, 8, 24, 60)] == [4, 4, 12, 15]


# ----------------------------------------------------------------------------- bad input


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(StudioError, match="does not exist"):
        evaluate_video(tmp_path / "nope.mp4")


def test_not_a_video_is_a_clear_error(tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n")
    with pytest.raises(StudioError, match="not a readable video") as error:
        evaluate_video(fake)
    assert "\n" not in str(error.value)


def test_one_frame_is_refused(tmp_path):
    path = write_mp4(pan_frames(1), tmp_path / "one.mp4", FPS)
    with pytest.raises(StudioError, match="at least 2"):
        evaluate_video(path)


def test_4k_is_refused_before_decoding(tmp_path):
    path = write_mp4(np.zeros((2, 2160, 3840, 3), np.uint8), tmp_path / "uhd.mp4", FPS)
    with pytest.raises(StudioError, match="3840x2160.*resize it first"):
        evaluate_video(path)


def test_cli_eval_prints_json(videos, capsys):
    from studio.cli import main

    assert main(["eval", str(videos["still"]), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["mawe"] == math.inf and report["frames"] == 40


def test_unavailable_clip_model_leaves_the_other_metrics(videos, tiny_preset, monkeypatch):
    import dataclasses

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    models = dataclasses.replace(tiny_preset.models, backend="hub", clip_metric="studio-tests/no-such-clip")
    report = evaluate_video(videos["pan"], prompt="a fox", preset=dataclasses.replace(tiny_preset, models=models))
    assert report["clip_score"] is None and "no-such-clip" in report["clip_note"]
    assert report["scuts"] == 0 and math.isfinite(report["mawe"])
    assert "CLIP score: n/a (not computed" in format_report(report)


def test_a_long_video_is_measured_in_bounded_batches(tmp_path, monkeypatch):
    """Bug caught: `eval` decoded the whole video and resized every frame to 256x256 at once (a 10,000-frame
    16x16 video took 3.9 GB): no array of frames handed to the measurements may grow with the video."""
    from studio.metrics import mawe, report

    frames = np.stack([np.roll(texture(3, 16, 64)[:, :16], i, axis=1) for i in range(300)])  # (300, 16, 16, 3)
    path = write_mp4(frames, tmp_path / "long.mp4", FPS)
    held = []
    resize = mawe.resize_for_analysis

    def counting_resize(batch, *args, **kwargs):
        held.append(len(batch))
        return resize(batch, *args, **kwargs)

    monkeypatch.setattr(mawe, "resize_for_analysis", counting_resize)
    result = report.evaluate_video(path, plots_dir=tmp_path / "plots")
    assert result["frames"] == 300 and sum(held) == 300
    assert max(held) <= report.EVAL_BATCH_FRAMES < 300
    assert len(result["per_chunk"]) == 300 // 8 + 1 and math.isfinite(result["mawe"])


def test_the_size_refusal_names_the_limit_it_applies(tmp_path):
    """Bug caught: the refusal told people to resize to 1920x1080 while the limit is 2560x1440."""
    from studio.metrics.report import check_video_size

    check_video_size(tmp_path / "qhd.mp4", 2560, 1440)  # the limit itself is measured
    with pytest.raises(StudioError, match=r"3840x2160.*at most 2560x1440") as error:
        check_video_size(tmp_path / "uhd.mp4", 3840, 2160)
    assert "1920x1080" not in str(error.value)
