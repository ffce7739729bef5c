"""Seam healing on the animatic preset (the pixel cross-fade, no models) and the boundary seam score."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest

from studio.config import load_preset
from studio.errors import StoppedError, StudioError
from studio.generate.seam import crossfade_weights, heal_seam
from studio.metrics.seams import boundary_seam_score

SIZE = 32


@pytest.fixture(scope="module")
def animatic():
    return load_preset("animatic")


def _with_window(preset, window):
    return dataclasses.replace(preset, refine=dataclasses.replace(preset.refine, window=window))


def _texture(seed=0):
    import cv2

    noise = np.random.default_rng(seed).integers(0, 256, (SIZE * 3, SIZE * 3, 3)).astype(np.uint8)
    return cv2.GaussianBlur(noise, (0, 0), 2)  # smooth blobs the optical flow can follow


def _pan(texture, start, count):
    """`count` frames of a camera panning one pixel per frame from x = start."""
    return np.stack([np.ascontiguousarray(texture[SIZE:2 * SIZE, x:x + SIZE]) for x in range(start, start + count)])


def _chunks_with_jump(shift=6, colour=0):
    """Chunk k (16 frames) and chunk k+1 (8 frames) that resumes `shift` pixels too far on, `colour` levels brighter."""
    texture = _texture()
    left = _pan(texture, 10, 16)
    right = _pan(texture, 10 + 16 + shift, 8).astype(np.int16) + colour
    return left, np.clip(right, 0, 255).astype(np.uint8)


def test_frames_outside_the_window_are_untouched_and_the_window_ends_match(animatic):
    left, right = _chunks_with_jump()
    healing = heal_seam(_with_window(animatic, 8), left, right, prompt="a pan", seed=0)
    assert healing.window == (4, 4) and healing.method == "crossfade"
    assert healing.left.shape == left.shape and healing.right.shape == right.shape
    assert healing.left.dtype == np.uint8 and healing.right.dtype == np.uint8
    np.testing.assert_array_equal(healing.left[:13], left[:13])  # 12 outside, then the window's outer frame
    np.testing.assert_array_equal(healing.right[3:], right[3:])  # the window's outer frame, then 4 outside
    assert not np.array_equal(healing.left[-1], left[-1]) and not np.array_equal(healing.right[0], right[0])


def test_the_window_is_half_the_refine_window_each_side_clipped_to_the_chunks(animatic):
    left, right = _chunks_with_jump()
    healing = heal_seam(animatic, left, right, prompt="a pan", seed=0)  # refine.window 24: 12 + 12, right has 8
    assert healing.window == (12, 8)
    np.testing.assert_array_equal(healing.left[:5], left[:5])
    np.testing.assert_array_equal(healing.right[-1], right[-1])


@pytest.mark.parametrize("shift, colour", [(6, 0), (0, 40), (5, 30)], ids=["position", "colour", "both"])
def test_healing_lowers_the_boundary_score_of_a_jump(animatic, shift, colour):
    left, right = _chunks_with_jump(shift, colour)
    healing = heal_seam(animatic, left, right, prompt="a pan", seed=0)
    assert healing.score_before == pytest.approx(boundary_seam_score(np.concatenate([left, right]), 16))
    assert healing.score_after == pytest.approx(boundary_seam_score(np.concatenate([healing.left, healing.right]), 16))
    assert healing.score_after < 0.5 * healing.score_before


def test_a_colour_jump_is_spread_evenly_over_the_window(animatic):
    left = np.full((16, 16, 16, 3), 100, np.uint8)
    right = np.full((8, 16, 16, 3), 145, np.uint8)  # 45 levels brighter from one frame to the next
    healing = heal_seam(_with_window(animatic, 10), left, right, prompt="", seed=0)  # 5 + 5 frames
    window = np.concatenate([healing.left[-5:], healing.right[:5]])[:, 0, 0, 0].astype(int)
    assert window.tolist() == [100, 105, 110, 115, 120, 125, 130, 135, 140, 145]  # 9 steps of 45 / 9


def test_a_seamless_continuation_is_left_as_it_was(animatic):
    fade = np.clip(np.arange(24)[:, None, None, None] * 3 + np.zeros((1, 16, 16, 3)), 0, 255).astype(np.uint8)
    healing = heal_seam(animatic, fade[:16], fade[16:], prompt="", seed=0)
    np.testing.assert_array_equal(healing.left, fade[:16])
    np.testing.assert_array_equal(healing.right, fade[16:])


def test_healing_is_deterministic_and_leaves_its_inputs_alone(animatic):
    left, right = _chunks_with_jump(4, 20)
    left_before, right_before = left.copy(), right.copy()
    first = heal_seam(animatic, left, right, prompt="a pan", seed=3)
    second = heal_seam(animatic, left, right, prompt="a pan", seed=3)
    np.testing.assert_array_equal(first.left, second.left)
    np.testing.assert_array_equal(first.right, second.right)
    assert first.score_after == second.score_after
    np.testing.assert_array_equal(left, left_before)
    np.testing.assert_array_equal(right, right_before)


def test_crossfade_weights_run_from_the_outer_ends_to_the_seam():
    assert crossfade_weights(3, 2).tolist() == [0.0, 0.5, 1.0, 1.0, 0.0]


def _bad_inputs():
    left, right = _chunks_with_jump()
    return [
        ("sizes", (left, right[:, :16]), {}, "frame sizes differ"),
        ("too few left", (left[:1], right), {}, "left chunk has 1 frame"),
        ("too few right", (left, right[:0]), {}, "right chunk has 0 frame"),
        ("dtype", (left.astype(np.float32), right), {}, "must be uint8"),
        ("shape", (left[..., 0], right), {}, r"shape \(T, H, W, 3\)"),
        ("prompt", (left, right), {"prompt": None}, "prompt must be text"),
        ("seed", (left, right), {"seed": "one"}, "seed must be a whole number"),
        ("window", (left, right), {"window": 3}, "refine.window 3 is too short"),
    ]


@pytest.mark.parametrize("case", _bad_inputs(), ids=lambda case: case[0])
def test_bad_input_gets_one_clear_line_and_changes_nothing(animatic, case):
    _, (left, right), overrides, message = case
    left_before, right_before = left.copy(), right.copy()
    preset = _with_window(animatic, overrides.pop("window")) if "window" in overrides else animatic
    arguments = {"prompt": "a pan", "seed": 0, **overrides}
    with pytest.raises(StudioError, match=message) as error:
        heal_seam(preset, left, right, **arguments)
    assert "\n" not in str(error.value)
    np.testing.assert_array_equal(left, left_before)
    np.testing.assert_array_equal(right, right_before)


def test_a_stop_raises_before_anything_is_returned(animatic):
    left, right = _chunks_with_jump()
    stop = threading.Event()
    stop.set()
    with pytest.raises(StoppedError, match="seam healing stopped"):
        heal_seam(animatic, left, right, prompt="a pan", seed=0, stop=stop)


def test_boundary_seam_score_sees_motion_and_colour_jumps():
    texture = _texture()
    smooth = _pan(texture, 10, 12)
    assert boundary_seam_score(smooth, 6) < 0.1
    left, right = _chunks_with_jump(6, 0)
    assert boundary_seam_score(np.concatenate([left, right]), 16) > 1.0
    left, right = _chunks_with_jump(0, 40)  # no extra motion: only the residual after flow sees it
    assert boundary_seam_score(np.concatenate([left, right]), 16) > 5.0
    assert boundary_seam_score(smooth[:2], 1) == 0.0  # one pair: nothing to compare it with


@pytest.mark.parametrize("at", [0, 12, -1, 2.5])
def test_boundary_seam_score_refuses_a_boundary_outside_the_video(at):
    with pytest.raises(StudioError, match="must be a frame index between 1 and 11"):
        boundary_seam_score(_pan(_texture(), 0, 12), at)
