"""Regenerate with keep-later: the chunks after k stay ready, and the seam with chunk k+1 is healed.

The new chunk k no longer leads into the kept chunk k+1, so the video would jump there. The seam is
healed (studio.generate.seam.heal_seam) in memory before anything is written; chunk k gets the healed
end of its new frames, and chunk k+1's healed frames become a new take of chunk k+1 (its previous
version is kept as a take too), recorded as made from the new take of chunk k, so it stays ready.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from studio.config import Preset
from studio.generate.seam import SeamHealing
from studio.generate.take_files import has_files, keep_active_version, next_take_number, utc_now
from studio.media.video import chunk_shape, load_frames, save_frames, write_mp4
from studio.project.model import Chunk, Scene, Take
from studio.project.paths import ProjectPaths


class SeamHealer:
    """Heals the seam between a regenerated chunk `index` and the kept chunk `index + 1` (when that one is ready)."""

    def __init__(self, paths: ProjectPaths, preset: Preset, scene: Scene, index: int):
        self.paths, self.preset, self.scene, self.index = paths, preset, scene, index
        following = scene.chunks[index + 1] if index + 1 < len(scene.chunks) else None
        self.following = following
        self.active = following is not None and following.status == "ready" and has_files(paths, following)
        self.healing: SeamHealing | None = None
        self.takes: list[Take] = []
        self.dropped: list[Take] = []
        self.number = following.take if following is not None else 1

    def heal(self, frames: np.ndarray, seed: int, stop) -> np.ndarray:
        """Chunk k's new frames with the healed end (unchanged when there is no ready chunk k+1)."""
        if not self.active:
            return frames
        following = self.following
        right = load_frames(self.paths.absolute(following.frames), chunk_shape(self.preset.streaming, following.index))
        prompt = following.prompt or self.scene.prompt_for_chunk(following.index)
        from studio.generate.gpu_chunk import heal_seam_in_gpu_call  # its own GPU call on ZeroGPU

        self.healing = heal_seam_in_gpu_call(self.preset, frames, right, prompt=prompt, seed=seed, stop=stop)
        return self.healing.left

    def replacing(self) -> Chunk:
        """Chunk k+1's record while its healed frames are written: its version kept as a take, and no files."""
        self.takes, self.dropped = keep_active_version(self.paths, self.scene.id, self.following,
                                                       self.preset.streaming.max_takes)
        self.number = next_take_number(self.following)
        return dataclasses.replace(self.following, status="stale", frames=None, preview=None, take=self.number,
                                   takes=self.takes)

    def write(self, new_take_of_previous: int) -> list[Path]:
        """Write chunk k+1's healed frames (atomically) and its record; returns the files written."""
        if self.healing is None:
            return []
        following, streaming = self.following, self.preset.streaming
        frames_path = save_frames(self.healing.right, self.paths.chunk_frames(self.scene.id, following.index))
        preview_path = write_mp4(self.healing.right, self.paths.chunk_preview(self.scene.id, following.index),
                                 fps=streaming.fps)
        self.scene.chunks[following.index] = dataclasses.replace(
            following, status="ready", frames=self.paths.relative(frames_path), preview=self.paths.relative(preview_path),
            take=self.number, after_take=new_take_of_previous, made=utc_now(), approval="pending", takes=self.takes)
        after = following.index + 1
        if after < len(self.scene.chunks):  # keep-later accepts the healed chunk as the one the next continues
            self.scene.chunks[after].after_take = self.number
        stored = [take for take in self.takes if take.number == following.take]  # the version it replaced
        return [frames_path, preview_path, *(self.paths.absolute(p) for take in stored for p in (take.frames, take.preview))]
