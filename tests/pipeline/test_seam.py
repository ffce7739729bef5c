"""Seam healing with the tiny models: one SDEdit pass over the seam window at the draft size, cross-faded back.

The tiny models have random weights, so their pictures are noise: these tests check the machinery (the
window, the blend law, the strength, seeds, stopping). That healing lowers the boundary score is checked
with the animatic cross-fade (tests/unit/test_seam.py) and here with a stand-in for the model pass.
"""

from __future__ import annotations

import numpy as np
import pytest

from studio.errors import StoppedError
from studio.generate.seam import crossfade_weights, heal_seam

SIZE = 32  # the tiny preset's draft size
PROMPT = "a red fox runs"


def _pan(start, count, seed=0):
    import cv2

    noise = np.random.default_rng(seed).integers(0, 256, (SIZE * 3, SIZE * 3, 3)).astype(np.uint8)
    texture = cv2.GaussianBlur(noise, (0, 0), 2)
    return np.stack([np.ascontiguousarray(texture[SIZE:2 * SIZE, x:x + SIZE]) for x in range(start, start + count)])


@pytest.fixture(scope="module")
def preset(tiny_preset):
    """The tiny preset with a refine window of 8 (4 + 4 healed frames) and 2 steps, so each pass takes seconds."""
    import dataclasses

    return dataclasses.replace(tiny_preset, refine=dataclasses.replace(tiny_preset.refine, window=8, steps=2))


@pytest.fixture(scope="module")
def chunks():
    """Chunk k (16 frames) and a chunk k+1 (8 frames) that resumes 6 pixels too far on."""
    return _pan(10, 16), _pan(10 + 16 + 6, 8)


@pytest.fixture(scope="module")
def healed(preset, chunks):
    return heal_seam(preset, *chunks, prompt=PROMPT, seed=0)


def test_only_the_window_changes_and_its_outer_frames_stay(preset, chunks, healed):
    left, right = chunks
    assert healed.window == (4, 4) and healed.method == "sdedit"
    assert healed.left.shape == left.shape and healed.right.shape == right.shape  # the draft size: no upscale
    np.testing.assert_array_equal(healed.left[:13], left[:13])  # 12 outside the window, then its first frame
    np.testing.assert_array_equal(healed.right[3:], right[3:])  # the window's last frame, then 4 outside
    assert not np.array_equal(healed.left[-1], left[-1]) and not np.array_equal(healed.right[0], right[0])


def test_the_window_is_one_sdedit_pass_at_the_seam_strength_blended_by_the_crossfade(preset, chunks, healed):
    from studio.generate.seam import HEALING_MODE, blend_window
    from studio.models.sdedit import sdedit_frames

    left, right = chunks
    window = np.concatenate([left[-4:], right[:4]])  # (8, 32, 32, 3)
    pass_output = sdedit_frames(preset, window, PROMPT, strength=preset.refine.seam_strength, seed=0,
                                mode=HEALING_MODE)
    np.testing.assert_array_equal(healed.left[-1], pass_output[3])  # weight 1 at the seam: the pass's own frames
    np.testing.assert_array_equal(healed.right[0], pass_output[4])
    expected = blend_window(window, pass_output, crossfade_weights(4, 4))
    np.testing.assert_array_equal(np.concatenate([healed.left[-4:], healed.right[:4]]), expected)
    at_refine_strength = sdedit_frames(preset, window, PROMPT, strength=preset.refine.strength, seed=0,
                                       mode=HEALING_MODE)
    assert not np.array_equal(at_refine_strength, pass_output)  # so the match above pins the seam strength


def test_the_same_seed_gives_the_same_frames_and_another_seed_others(preset, chunks, healed):
    again = heal_seam(preset, *chunks, prompt=PROMPT, seed=0)
    np.testing.assert_array_equal(again.left, healed.left)
    np.testing.assert_array_equal(again.right, healed.right)
    assert (again.score_before, again.score_after) == (healed.score_before, healed.score_after)
    other = heal_seam(preset, *chunks, prompt=PROMPT, seed=1)
    assert not np.array_equal(other.right[0], healed.right[0])


def test_a_stop_during_the_pass_raises_and_returns_nothing(preset, chunks):
    class StopAtThirdLook:
        """Set from the third time anyone looks: heal_seam's own check, then the denoising loop's steps 1 and 2."""

        def __init__(self):
            self.looks = 0

        def is_set(self):
            self.looks += 1
            return self.looks >= 3

    stop = StopAtThirdLook()
    with pytest.raises(StoppedError, match="seam healing stopped; both chunks are unchanged"):
        heal_seam(preset, *chunks, prompt=PROMPT, seed=0, stop=stop)
    assert stop.looks == 3  # it stopped inside the pass, at its second step


def test_a_pass_that_continues_the_motion_lowers_the_boundary_score(tiny_preset, chunks, monkeypatch):
    """With a pass that returns the seamless continuation (what a trained refiner aims at), the cross-fade
    and the score around it do their part: most of the seam's jump is gone. No model runs here, so this
    uses the tiny preset's own window of 16 (8 + 8 frames)."""
    import studio.models.sdedit

    seamless_window = _pan(10 + 8, 16)  # the last 8 frames of chunk k and 8 that follow them without a jump
    monkeypatch.setattr(studio.models.sdedit, "sdedit_frames", lambda *args, **kwargs: seamless_window)
    healing = heal_seam(tiny_preset, *chunks, prompt=PROMPT, seed=0)
    assert healing.window == (8, 8)
    assert healing.score_after < 0.5 * healing.score_before
