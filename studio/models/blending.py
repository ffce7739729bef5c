"""Windows over a long video and the randomized blending of their overlaps (StreamingT2V stage 3).

Pure functions on integers and torch tensors (no models). The refiner denoises a video of T frames in
windows of C frames that overlap by O frames (stride C - O):

    window_starts(40, 16, 4) -> [0, 12, 24]      windows [0,16) [12,28) [24,40): every overlap is 4
    window_starts(30, 16, 4) -> [0, 12, 14]      the last window is aligned to the end, so no frame is
                                                 lost and nothing is padded; its overlap with its
                                                 predecessor is larger (14 here) and it may also reach
                                                 back into the window before (frames 14-15 are in all
                                                 three windows)
    window_starts(10, 16, 4) -> [0]              a video no longer than C is one window of T frames

At each denoising step every frame takes its value from one window: `blend_sources` returns that
window's index per frame. For the overlap of windows i-1 and i, which spans frames [s_i, e_{i-1}) of
length O_i = e_{i-1} - s_i, a cut c_i is drawn uniformly from {0, ..., O_i}; the boundary is
b_i = s_i + c_i, and frame f takes window max{i : b_i <= f} (b_0 = 0). So when overlaps are disjoint
(a tiling length), overlap frames 1..c come from the earlier window and c+1..O from the later one, and
overlap frame f (1-based) comes from the earlier window with probability 1 - f/(O_i + 1): the paper's
law. The end-aligned last window follows the same law over its own, larger overlap O_i. When it
reaches back past its predecessor (a triple overlap), a low cut can give all of the predecessor's
remaining frames to the last window for that step; every frame is still covered by the window it takes
(b_i <= e_{i-1}, so frame f < b_{i+1} lies inside window i).

`fixed_sources` is the same map with every cut at floor(O_i / 2): the shared-noise ablation and the
concatenation of the naive one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from studio.errors import ValidationError

if TYPE_CHECKING:  # torch is only needed when the functions run
    import torch


def check_window(num_frames: int, window: int, overlap: int) -> None:
    """Raise ValidationError (one line, with the value) for a layout that cannot work."""
    for name, value in (("num_frames", num_frames), ("window", window), ("overlap", overlap)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"{name} must be an integer, got {value!r}")
    if num_frames < 1:
        raise ValidationError(f"num_frames {num_frames} must be at least 1: there is no video to refine")
    if window < 1:
        raise ValidationError(f"refine window {window} must be at least 1 frame")
    if num_frames <= window:
        return  # one window: the overlap is never used
    if overlap <= 0:
        raise ValidationError(f"refine overlap {overlap} must be at least 1 frame so windows can be blended (window {window})")
    if window <= overlap:
        raise ValidationError(f"refine window {window} must be larger than the overlap {overlap}; e.g. window 24, overlap 8")


def window_starts(num_frames: int, window: int, overlap: int) -> list[int]:
    """First frame of each window: stride window - overlap, the last window aligned to the end."""
    check_window(num_frames, window, overlap)
    if num_frames <= window:
        return [0]
    stride = window - overlap
    return list(range(0, num_frames - window, stride)) + [num_frames - window]


def window_ranges(num_frames: int, window: int, overlap: int) -> list[tuple[int, int]]:
    """(start, end) of each window, end exclusive; a single short window is (0, num_frames)."""
    length = min(window, num_frames)
    return [(start, start + length) for start in window_starts(num_frames, window, overlap)]


def overlap_sizes(num_frames: int, window: int, overlap: int) -> list[int]:
    """Frames shared by window i-1 and window i, for i = 1..n-1 (O, except for the end-aligned last)."""
    ranges = window_ranges(num_frames, window, overlap)
    return [ranges[i - 1][1] - ranges[i][0] for i in range(1, len(ranges))]


def sources_from_cuts(num_frames: int, window: int, overlap: int, cuts: list[int]) -> "torch.LongTensor":
    """Window index per frame for given cuts (one per overlap, 0 <= cut <= that overlap's size)."""
    import torch

    ranges = window_ranges(num_frames, window, overlap)
    sizes = overlap_sizes(num_frames, window, overlap)
    if len(cuts) != len(sizes):
        raise ValidationError(f"{len(cuts)} cuts given for {len(sizes)} overlaps")
    sources = torch.zeros(num_frames, dtype=torch.long)  # (T,)
    for index, (cut, size) in enumerate(zip(cuts, sizes), start=1):
        if not 0 <= int(cut) <= size:
            raise ValidationError(f"cut {cut} of overlap {index} must be between 0 and {size}")
        # Painting later windows from their boundary on gives frame f the window max{i : b_i <= f}.
        sources[ranges[index][0] + int(cut):] = index
    return sources


def blend_sources(num_frames: int, window: int, overlap: int, generator: "torch.Generator | None" = None) -> "torch.LongTensor":
    """Window index per frame for one denoising step, with a fresh uniform cut in {0..O_i} per overlap.

    Returns a LongTensor of shape (num_frames,). The cuts come from `generator` (CPU), so a seeded
    refinement is reproducible.
    """
    import torch

    sizes = overlap_sizes(num_frames, window, overlap)
    cuts = [int(torch.randint(0, size + 1, (1,), generator=generator)) for size in sizes]
    return sources_from_cuts(num_frames, window, overlap, cuts)


def fixed_sources(num_frames: int, window: int, overlap: int) -> "torch.LongTensor":
    """Window index per frame with every cut in the middle of its overlap (floor(O_i / 2))."""
    sizes = overlap_sizes(num_frames, window, overlap)
    return sources_from_cuts(num_frames, window, overlap, [size // 2 for size in sizes])


def window_slices(tensor: "torch.Tensor", ranges: list[tuple[int, int]], dim: int = 2) -> "torch.Tensor":
    """Stack the window slices of one full-length tensor along a new batch dimension.

    tensor (B, C, T, H, W) with dim=2 -> (n_windows * B, C, window, H, W), window-major. Slices of the
    shared noise are equal wherever windows overlap: the same frames of the same tensor.
    """
    import torch

    lengths = {end - start for start, end in ranges}
    if len(lengths) != 1:
        raise ValidationError(f"windows must all have the same length, got {sorted(lengths)}")
    if ranges[-1][1] > tensor.shape[dim]:
        raise ValidationError(f"window {ranges[-1]} reaches past the {tensor.shape[dim]} frames of the tensor")
    return torch.cat([tensor.narrow(dim, start, end - start) for start, end in ranges])  # (n*B, C, w, H, W)


def merge_windows(window_values: "torch.Tensor", ranges: list[tuple[int, int]], sources: "torch.LongTensor",
                  dim: int = 2) -> "torch.Tensor":
    """The inverse of `window_slices` under a source map: frame f of the result is frame f of window sources[f].

    window_values (n_windows * B, C, window, H, W) -> (B, C, T, H, W).
    """
    import torch

    num_windows = len(ranges)
    per_window = window_values.chunk(num_windows)  # n x (B, C, w, H, W)
    starts = torch.tensor([start for start, _ in ranges], dtype=torch.long)
    frames = []
    for frame, source in enumerate(sources.tolist()):
        local = frame - int(starts[source])
        if not 0 <= local < window_values.shape[dim]:
            raise ValidationError(f"frame {frame} is not inside window {source} {ranges[source]}")
        frames.append(per_window[source].narrow(dim, local, 1))  # (B, C, 1, H, W)
    return torch.cat(frames, dim=dim)  # (B, C, T, H, W)
