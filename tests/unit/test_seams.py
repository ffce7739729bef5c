"""Optical flow helpers, the seam score and the X-T slice (studio.metrics.flow / seams)."""

from __future__ import annotations

import numpy as np
import pytest

from studio.errors import StudioError
from studio.metrics.flow import flow_magnitudes, optical_flow, warp
from studio.metrics.seams import save_xt_slice, seam_score, xt_slice


def _texture(size=64, seed=0):
    """A smooth random texture (blurred noise) that optical flow can track."""
    import cv2

    noise = np.random.RandomState(seed).rand(size, size, 3).astype(np.float32)
    return (cv2.GaussianBlur(noise, (0, 0), 2.0) * 255 * 3 - 255).clip(0, 255).astype(np.uint8)


def _moving(num_frames, speeds, size=64):
    """Frames of one texture shifted right by speeds[t] pixels between frame t and t+1."""
    base = np.tile(_texture(size * 2), (1, 2, 1))
    frames, x = [], 0
    for t in range(num_frames):
        frames.append(base[: size, x : x + size])
        x += speeds[t] if t < len(speeds) else 0
    return np.stack(frames)


def test_flow_finds_a_shift_and_warp_undoes_it():
    frames = _moving(2, [2])
    flow = optical_flow(frames[0], frames[1])
    assert flow.shape == (64, 64, 2) and flow.dtype == np.float32
    inner = flow[8:-8, 8:-8]
    assert abs(float(np.median(inner[..., 0])) + 2.0) < 0.5  # the texture moves left by 2 in the crop
    assert abs(float(np.median(inner[..., 1]))) < 0.5
    warped = warp(frames[1], flow)
    error = np.abs(warped[8:-8, 8:-8].astype(float) - frames[0][8:-8, 8:-8]).mean()
    assert error < np.abs(frames[1][8:-8, 8:-8].astype(float) - frames[0][8:-8, 8:-8]).mean() / 2


def test_flow_magnitudes_per_pair():
    magnitudes = flow_magnitudes(_moving(5, [1, 1, 3, 1]))
    assert magnitudes.shape == (4,)
    assert magnitudes[2] > magnitudes[1] + 1.0


def test_seam_score_is_low_for_smooth_motion_and_high_for_a_jump():
    still = np.repeat(_texture()[None], 8, axis=0)
    assert seam_score(still) == pytest.approx(0.0, abs=1e-3)
    smooth = seam_score(_moving(10, [1] * 9))
    jumpy = seam_score(_moving(10, [1, 1, 1, 1, 6, 1, 1, 1, 1]))
    assert jumpy > smooth + 0.5
    assert seam_score(still[:2]) == 0.0  # one pair: no spread to measure


def test_xt_slice_rows_over_time(tmp_path):
    frames = np.random.RandomState(1).randint(0, 256, (10, 12, 20, 3)).astype(np.uint8)
    image = xt_slice(frames)
    assert image.dtype == np.uint8 and image.shape[1:] == (20, 3)
    repeat = image.shape[0] // 10
    assert image.shape[0] == 10 * repeat and image.shape[0] >= 256
    for t in range(10):
        assert np.array_equal(image[t * repeat], frames[t, 6])  # default: the middle row
    assert np.array_equal(xt_slice(frames, row=0)[0], frames[0, 0])
    with pytest.raises(StudioError, match="row 12"):
        xt_slice(frames, row=12)
    with pytest.raises(StudioError, match="uint8"):
        xt_slice(frames.astype(np.float32))

    from PIL import Image

    path = save_xt_slice(frames, tmp_path / "sub" / "xt.png")
    assert np.array_equal(np.asarray(Image.open(path)), image)
