"""Regenerate with keep-later: the chunks after k stay ready, and the seam with chunk k+1 is healed.

The new chunk k no longer leads into the kept chunk k+1, so the video would jump there. The seam is
healed (studio.generate.seam.heal_seam) in memory before anything is written: chunk k's new take gets
the healed end of its new frames, and chunk k+1's healed frames become a new take of chunk k+1 (its
previous version stays a take), recorded as made from the new take of chunk k, so it stays ready. Its
frames are new, so its approval starts over (pending).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from studio.config import Preset
from studio.generate.chunk_store import (as_take, free_takes, keep_within, next_take_number, take_has_files, utc_now,
                                         write_take)
from studio.generate.seam import SeamHealing
from studio.media.video import chunk_shape, load_frames
from studio.project.model import Scene
from studio.project.paths import ProjectPaths


class SeamHealer:
    """Heals the seam between a regenerated chunk `index` and the kept chunk `index + 1` (when that one is ready)."""

    def __init__(self, paths: ProjectPaths, preset: Preset, scene: Scene, index: int):
        self.paths, self.preset, self.scene, self.index = paths, preset, scene, index
        following = scene.chunks[index + 1] if index + 1 < len(scene.chunks) else None
        self.following = following
        self.active = (following is not None and following.status == "ready"
                       and take_has_files(paths, scene.id, following.index, following.take))
        self.healing: SeamHealing | None = None
        self.number = next_take_number(following) if following is not None else 1  # chunk k+1's new take
        self.dropped: list[int] = []

    def heal(self, frames: np.ndarray, seed: int, stop) -> np.ndarray:
        """Chunk k's new frames with the healed end (unchanged when there is no ready chunk k+1)."""
        if not self.active:
            return frames
        following = self.following
        right = load_frames(self.paths.chunk_frames(self.scene.id, following),
                            chunk_shape(self.preset.streaming, following.index))
        prompt = following.prompt or self.scene.prompt_for_chunk(following.index)
        from studio.generate.gpu_chunk import heal_seam_in_gpu_call  # its own GPU call on ZeroGPU

        self.healing = heal_seam_in_gpu_call(self.preset, frames, right, prompt=prompt, seed=seed, stop=stop)
        return self.healing.left

    def write_next(self) -> list[Path]:
        """Write chunk k+1's healed frames as its new take (before any record names it); returns its files."""
        if self.healing is None:
            return []
        return list(write_take(self.paths, self.scene.id, self.following.index, self.number, self.healing.right,
                               self.preset.streaming.fps))

    def record_next(self, new_take_of_previous: int) -> None:
        """Chunk k+1's record with the healed take active, made from chunk k's new take (not saved yet)."""
        if self.healing is None:
            return
        following = self.following
        takes, over = keep_within([*following.takes, as_take(following)], self.preset.streaming.max_takes)
        self.dropped = [take.number for take in over]
        self.scene.chunks[following.index] = dataclasses.replace(
            following, status="ready", take=self.number, after_take=new_take_of_previous, made=utc_now(),
            approval="pending", takes=takes)
        after = following.index + 1
        if after < len(self.scene.chunks):  # keep-later accepts the healed chunk as the one the next continues
            self.scene.chunks[after].after_take = self.number

    def free_next(self) -> None:
        """The healed take's files, when its record was never saved."""
        if self.healing is not None:
            free_takes(self.paths, self.scene.id, self.following.index, [self.number])

    def free_dropped(self) -> None:
        """The takes of chunk k+1 past streaming.max_takes, once no record names them."""
        if self.healing is not None:
            free_takes(self.paths, self.scene.id, self.following.index, self.dropped)
