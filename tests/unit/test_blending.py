"""Window layout and the randomized-blending law (studio.models.blending)."""

from __future__ import annotations

import pytest
import torch

from studio.errors import ValidationError
from studio.models.blending import (
    blend_sources,
    check_window,
    fixed_sources,
    merge_windows,
    overlap_sizes,
    sources_from_cuts,
    window_ranges,
    window_slices,
    window_starts,
)

LAYOUTS = [(16, 4), (24, 8), (8, 4), (5, 1), (3, 2)]


@pytest.mark.parametrize("window,overlap", LAYOUTS)
def test_windows_cover_every_length(window, overlap):
    for num_frames in range(1, 90):
        ranges = window_ranges(num_frames, window, overlap)
        covered = torch.zeros(num_frames, dtype=torch.bool)
        for start, end in ranges:
            assert end - start == min(window, num_frames)  # every window is full: no padding
            covered[start:end] = True
        assert bool(covered.all()), (num_frames, ranges)
        assert ranges[0][0] == 0 and ranges[-1][1] == num_frames  # the last window is aligned to the end
        starts = [start for start, _ in ranges]
        assert starts == sorted(set(starts))
        assert all(size >= overlap for size in overlap_sizes(num_frames, window, overlap))


def test_layout_examples():
    assert window_starts(40, 16, 4) == [0, 12, 24]  # tiles exactly
    assert window_starts(48, 16, 4) == [0, 12, 24, 32]  # 5 tiny chunks; last overlap 8
    assert overlap_sizes(48, 16, 4) == [4, 4, 8]
    assert window_starts(30, 16, 4) == [0, 12, 14]  # the end window reaches back past its predecessor
    assert window_starts(10, 16, 4) == [0] and window_ranges(10, 16, 4) == [(0, 10)]
    assert window_starts(16, 16, 0) == [0]  # one window needs no overlap


@pytest.mark.parametrize("num_frames", [12, 16, 24, 28, 30, 40, 47, 48, 61])
def test_sources_stay_inside_their_windows(num_frames):
    generator = torch.Generator().manual_seed(1)
    ranges = window_ranges(num_frames, 16, 4)
    for _ in range(200):
        sources = blend_sources(num_frames, 16, 4, generator)
        assert sources.dtype == torch.long and sources.shape == (num_frames,)
        assert bool((sources[1:] >= sources[:-1]).all())  # windows take frames in order
        for frame, source in enumerate(sources.tolist()):
            start, end = ranges[source]
            assert start <= frame < end
        assert sources[0] == 0 and sources[-1] == len(ranges) - 1


def _earlier_frequency(num_frames, window, overlap, overlap_index, draws, seed=0):
    """How often each frame of one overlap comes from the earlier window, over many steps."""
    generator = torch.Generator().manual_seed(seed)
    ranges = window_ranges(num_frames, window, overlap)
    start, end = ranges[overlap_index][0], ranges[overlap_index - 1][1]
    counts = torch.zeros(end - start)
    for _ in range(draws):
        counts += (blend_sources(num_frames, window, overlap, generator)[start:end] == overlap_index - 1).float()
    return counts / draws


def test_cut_law_regular_overlaps():
    draws = 3000
    for overlap_index in (1, 2):  # 40 frames, window 16, overlap 4: both overlaps are exactly O
        frequency = _earlier_frequency(40, 16, 4, overlap_index, draws)
        expected = torch.tensor([1 - f / 5 for f in range(1, 5)])  # P(frame f from the earlier) = 1 - f/(O+1)
        tolerance = 4 * (0.25 / draws) ** 0.5  # four binomial standard deviations at worst
        assert torch.allclose(frequency, expected, atol=tolerance), (frequency, expected)


def test_cut_law_end_aligned_overlap_uses_its_own_size():
    draws = 3000
    frequency = _earlier_frequency(24, 16, 4, 1, draws, seed=5)  # the overlap is 8 frames
    expected = torch.tensor([1 - f / 9 for f in range(1, 9)])
    assert torch.allclose(frequency, expected, atol=4 * (0.25 / draws) ** 0.5), frequency


def test_cuts_are_uniform():
    generator = torch.Generator().manual_seed(3)
    counts = torch.zeros(5)
    draws = 2500
    for _ in range(draws):
        counts[int((blend_sources(28, 16, 4, generator)[12:16] == 0).sum())] += 1  # cut = frames kept by the earlier
    expected = draws / 5
    chi_square = float(((counts - expected) ** 2 / expected).sum())
    assert chi_square < 18.5  # chi-square with 4 degrees of freedom, p = 0.001


def test_same_generator_seed_same_cuts():
    first = [blend_sources(48, 16, 4, torch.Generator().manual_seed(9)) for _ in range(2)]
    assert torch.equal(first[0], first[1])
    generator = torch.Generator().manual_seed(9)
    draws = {tuple(blend_sources(48, 16, 4, generator).tolist()) for _ in range(30)}
    assert len(draws) > 1  # a fresh cut each step


def test_fixed_mid_cut():
    assert fixed_sources(28, 16, 4).tolist() == [0] * 14 + [1] * 14  # overlap 12..15: 12, 13 earlier
    assert fixed_sources(24, 16, 4).tolist() == [0] * 12 + [1] * 12  # overlap 8..15: cut 4
    assert fixed_sources(10, 16, 4).tolist() == [0] * 10


def test_cut_extremes():
    assert sources_from_cuts(28, 16, 4, [0]).tolist() == [0] * 12 + [1] * 16
    assert sources_from_cuts(28, 16, 4, [4]).tolist() == [0] * 16 + [1] * 12
    with pytest.raises(ValidationError, match="cut 5"):
        sources_from_cuts(28, 16, 4, [5])


def test_shared_noise_slices_agree_in_overlaps_and_merge_back():
    noise = torch.randn(1, 4, 30, 3, 3, generator=torch.Generator().manual_seed(0))  # (1, C, T, H, W)
    ranges = window_ranges(30, 16, 4)
    windows = window_slices(noise, ranges)  # (3, 4, 16, 3, 3)
    assert windows.shape == (3, 4, 16, 3, 3)
    for (i, (start_a, _)), (j, (start_b, end_b)) in zip(enumerate(ranges), list(enumerate(ranges))[1:]):
        shared = range(start_b, ranges[i][1])
        for frame in shared:
            assert torch.equal(windows[i, :, frame - start_a], windows[j, :, frame - start_b])
    for sources in (blend_sources(30, 16, 4, torch.Generator().manual_seed(2)), fixed_sources(30, 16, 4)):
        assert torch.equal(merge_windows(windows, ranges, sources), noise)


@pytest.mark.parametrize("args,match", [
    ((40, 8, 8), "larger than the overlap"),
    ((40, 8, 12), "larger than the overlap"),
    ((40, 8, 0), "overlap 0"),
    ((40, 8, -2), "overlap -2"),
    ((0, 8, 4), "num_frames 0"),
    ((40, 0, 4), "window 0"),
    ((40, 8.0, 4), "window must be an integer"),
])
def test_bad_layouts(args, match):
    with pytest.raises(ValidationError, match=match):
        check_window(*args)
    with pytest.raises(ValueError):  # ValidationError is a ValueError too
        blend_sources(*args)


class _ZeroUNet:
    """A stand-in UNet that predicts zero noise: the denoising loop's own draws are all that is left to watch."""

    device, dtype = torch.device("cpu"), torch.float32

    def __call__(self, sample, timestep, encoder_hidden_states=None):
        from types import SimpleNamespace

        return SimpleNamespace(sample=torch.zeros_like(sample))


def test_the_denoising_loop_draws_fresh_independent_cuts_at_every_step(monkeypatch):
    """The cuts the refiner's loop uses, step by step: 28 frames in windows of 8 overlapping by 4 (five disjoint
    overlaps of 4 frames), 200 steps, a fixed seed. Each overlap's cut must change from step to step (P = 4/5),
    two overlaps must agree no more than chance (P = 1/5), and overlap frame f must come from the earlier window
    with probability 1 - f/5. Catches the cut generator re-seeded identically at every step (one cut for the
    whole run: no change between steps) and one uniform draw shared by all overlaps of a step (the overlaps
    always agree)."""
    from diffusers import DDIMScheduler

    from studio.models import sdedit as stage

    sources_by_step = []
    real_merge = stage.merge_windows

    def merge_windows(values, ranges, sources, dim=2):
        sources_by_step.append(sources.clone())
        return real_merge(values, ranges, sources, dim)

    monkeypatch.setattr(stage, "merge_windows", merge_windows)
    steps, overlaps = 200, 5
    assert window_starts(28, 8, 4) == [0, 4, 8, 12, 16, 20] and overlap_sizes(28, 8, 4) == [4] * overlaps
    stage.denoise_video(torch.zeros(1, 4, 28, 1, 1), unet=_ZeroUNet(), scheduler=DDIMScheduler(num_train_timesteps=1000),
                        text_states=torch.zeros(2, 77, 8), window=8, overlap=4, steps=steps, strength=1.0, guidance=7.5,
                        mode="randomized", generator=torch.Generator().manual_seed(0))
    assert len(sources_by_step) == steps
    # cuts[s, i]: frames of overlap i+1 (frames 4(i+1) .. 4(i+1)+3) that step s takes from the earlier window i.
    cuts = torch.stack([torch.stack([(sources[4 * i:4 * i + 4] == i - 1).sum() for i in range(1, overlaps + 1)])
                        for sources in sources_by_step]).float()  # (steps, overlaps)
    changed = (cuts[1:] != cuts[:-1]).float().mean(dim=0)  # per overlap; 0.8 expected, 0 for one cut per run
    assert bool((changed > 0.6).all()), changed
    for i in range(overlaps):
        for j in range(i + 1, overlaps):
            agree = float((cuts[:, i] == cuts[:, j]).float().mean())  # 0.2 expected, 1 for one shared draw
            correlation = float(torch.corrcoef(torch.stack([cuts[:, i], cuts[:, j]]))[0, 1])
            assert agree < 0.35 and abs(correlation) < 0.3, (i, j, agree, correlation)
    earlier = torch.stack([(cuts > f).float().mean() for f in range(4)])  # frame f+1 is the earlier's iff cut > f
    expected = torch.tensor([1 - f / 5 for f in range(1, 5)])
    assert torch.allclose(earlier, expected, atol=4 * (0.25 / (steps * overlaps)) ** 0.5), (earlier, expected)
