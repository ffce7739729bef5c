"""The chunk loop over a project folder: generate a scene chunk by chunk, regenerate one chunk.

Each finished chunk is on disk before its event is yielded: a new take of it, written once at the paths
of (scene, chunk, take) (chunk_store.py): take_NN.npz (the frames it adds: 16 for chunk 0,
frames_per_chunk - context_frames after that) and take_NN.mp4 (a preview browsers play); then its record
in project.json (atomically), which makes that take the active one; then the scene's draft.mp4 (every
ready chunk so far, derived from the records). A kill before the record leaves files no record names
(swept on the next open) and the project as it was: there is nothing to put back. Nothing but the
current chunk is held in memory, so memory does not grow with the number of chunks.

The memory a chunk needs comes from disk too: the last `context_frames` frames of the chunks before it
(CAM) and the scene's anchor (APM): the scene image, or else frame 0 of chunk 0 (also written as
anchor.png for people to see). So chunk k can be remade at any time from chunk k-1's file, and with
its recorded seed it comes out bit-identical.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from studio.config import Preset
from studio.errors import StoppedError, StudioError
from studio.generate.chunk_files import (check_chunk_count, check_chunk_files, first_not_ready, hidden_to_show,
                                         same_frames, save_png)
from studio.generate.chunk_store import (as_take, free_takes, keep_within, next_take_number, take_has_files, utc_now,
                                         write_take)
from studio.generate.keep_later import SeamHealer
from studio.generate.seam import SeamHealing
from studio.generate.timing import timed
from studio.media.video import check_frames, chunk_shape, load_frames
from studio.project.draft import write_draft
from studio.project.layout import sweep_scene
from studio.project.model import MAX_PROMPT_CHARS, Chunk, Project, Scene, load_project, save_project, scene_ids_to_make
from studio.project.paths import ProjectPaths
from studio.project.progress import GENERATION_FIELDS, generation_record, save_scene_progress
from studio.project.scene_lock import scene_generating

logger = logging.getLogger(__name__)


@dataclass
class ChunkEvent:
    """One finished chunk, as the CLI and the UI receive it."""

    scene_id: str
    index: int
    seed: int
    num_frames: int  # frames this chunk added to the video
    frames_path: Path
    preview_path: Path
    seconds: float
    stale: list[int] = field(default_factory=list)  # chunks marked stale by a regeneration
    take: int = 1  # the chunk's active take now
    seam: SeamHealing | None = None  # keep-later: the healed seam with chunk index + 1, and its scores
    written: list[Path] = field(default_factory=list)  # other files it wrote (takes, the healed next chunk)


# ----------------------------------------------------------------------------- public API


def generate_scene(project_dir: Path, preset: Preset, scene_id: str, *, num_chunks: int | None = None,
                   stop=None, save=save_project) -> Iterator[ChunkEvent]:
    """Make scene `scene_id` up to `num_chunks` chunks (default: scene.n_chunks), yielding one event per chunk.

    Resumes at the first chunk that is not ready (stale and failed chunks are remade with their
    recorded seed and prompt; the chunks after them are remade too). With `stop` set it stops between
    denoising steps and keeps every finished chunk. `save(project, project_dir)` records progress
    (default: project.json; a cluster worker hands it to the head, the one writer of project.json).
    """
    project_dir = Path(project_dir)
    project = load_project(project_dir)
    scene = project.script.scene(scene_id)
    owned = GENERATION_FIELDS + (("n_chunks",) if num_chunks is not None else ())  # what this run may change
    base = generation_record(scene, owned)  # the scene's record on disk now: every later save checks it is unchanged
    total = scene.n_chunks if num_chunks is None else num_chunks
    check_chunk_count(total, preset)
    paths = ProjectPaths(project_dir)
    shown_again = hidden_to_show(scene, paths, total, preset) if num_chunks is not None else []
    past_the_end = scene.chunks[total:]
    hiding = any(c.status == "ready" for c in past_the_end)
    recount = num_chunks is not None and (scene.n_chunks != total or bool(shown_again) or hiding)
    if recount:
        scene.n_chunks = total
        for chunk in past_the_end:  # a shorter scene hides the finished records past the end, never deletes them:
            if chunk.status == "ready":  # raising the count again shows them, as they were, without remaking them
                chunk.status = "hidden"
        for chunk in shown_again:
            chunk.status = "ready"
    start = first_not_ready(scene, paths, total)
    check_chunk_files(scene, paths, start, preset)  # a corrupt chunk stops us before anything is written
    with scene_generating(project_dir, scene.id):  # one generating process per scene (takes wait for it)
        if recount:
            if shown_again:  # the draft shows them again too
                write_draft(paths, scene)
            base = _save_progress(save, project, project_dir, scene_id, base)
        maker = _ChunkMaker(project_dir, preset, project, scene, save, base=base)
        for index in range(start, total):
            if stop is not None and stop.is_set():
                return
            previous = scene.chunks[index] if index < len(scene.chunks) else None
            seed = previous.seed if previous is not None else scene.chunk_seed(index)
            prompt = previous.prompt if previous is not None and previous.prompt else scene.prompt_for_chunk(index)
            try:
                with timed("files"):  # less the parts nested in it: the memory read from disk, the chunk's files written
                    event = maker.make(index, seed, prompt, stop)
            except StoppedError:
                logger.info("scene %s: stopped during chunk %d; %d chunks kept", scene.id, index, index)
                return
            yield event


def regenerate_chunk(project_dir: Path, preset: Preset, scene_id: str, chunk_index: int, *, seed: int | None = None,
                     prompt: str | None = None, stop=None, save=save_project, keep_later: bool = False) -> ChunkEvent:
    """Make chunk `chunk_index` again from chunk k-1's frames and the anchor; later chunks become stale.

    The version it replaces is kept as a take (studio.generate.takes switches back to it in an instant).
    With `keep_later` the later chunks stay ready and the seam with chunk k+1 is healed (event.seam).
    With the recorded seed and prompt the result is bit-identical (and then nothing becomes stale).
    On a stop, an error or bad input, the project is left as it was.
    """
    project_dir = Path(project_dir)
    project = load_project(project_dir)
    scene = project.script.scene(scene_id)
    if isinstance(chunk_index, bool) or not isinstance(chunk_index, int) or not 0 <= chunk_index < len(scene.chunks):
        have = f"chunks 0-{len(scene.chunks) - 1}" if scene.chunks else "no chunks yet"
        raise StudioError(f"scene {scene.id!r} has no chunk {chunk_index!r} ({have}); generate it first")
    paths = ProjectPaths(project_dir)
    for earlier in scene.chunks[:chunk_index]:
        if earlier.status != "ready":
            raise StudioError(f"chunk {earlier.index} of scene {scene.id!r} is {earlier.status}; "
                              f"continue generation from there before regenerating chunk {chunk_index}")
    check_chunk_files(scene, paths, chunk_index, preset)
    if prompt is not None and not prompt.strip():
        raise StudioError("the new prompt is empty; give some text or leave --prompt out")
    if prompt is not None and len(prompt.strip()) > MAX_PROMPT_CHARS:  # checked before any work, as saving would
        raise StudioError(f"the new prompt is {len(prompt.strip())} characters long; the limit is {MAX_PROMPT_CHARS}")
    old = scene.chunks[chunk_index]
    seed = old.seed if seed is None else int(seed)
    prompt = (old.prompt or scene.prompt_for_chunk(chunk_index)) if prompt is None else prompt.strip()
    if stop is not None and stop.is_set():
        raise StoppedError("stopped before regenerating; nothing changed")
    with scene_generating(project_dir, scene.id):
        return _ChunkMaker(project_dir, preset, project, scene, save).make(chunk_index, seed, prompt, stop, regenerate=True,
                                                                           keep_later=keep_later)


# ----------------------------------------------------------------------------- the work


class _ChunkMaker:
    """Makes chunk k of one scene from disk and saves it (files, draft, project.json)."""

    def __init__(self, project_dir: Path, preset: Preset, project: Project, scene: Scene, save=save_project, *,
                 base: dict | None = None):
        self.project_dir = project_dir
        self.save = save
        self.base = generation_record(scene) if base is None else base  # the scene's record as last loaded or saved
        self.preset = preset
        self.project = project
        self.scene = scene
        self.paths = ProjectPaths(project_dir)
        swept = sweep_scene(self.paths, scene)  # what a killed run left (we hold the scene's lock)
        if swept:
            logger.info("removed %d files of an interrupted run in scene %s", swept, scene.id)
        s = preset.streaming
        self.context_count = s.context_frames
        self.size = (s.height, s.width)

    def make(self, index: int, seed: int, prompt: str, stop, *, regenerate: bool = False,
             keep_later: bool = False) -> ChunkEvent:
        s = self.preset.streaming
        started = time.perf_counter()
        # 1. The memory: the previous frames (CAM) and the anchor (APM), both from disk.
        context, anchor = self._context(index), self._anchor(index)
        # 2. The chunk.
        with timed("scheduler"):  # less the model parts nested in it: scheduler steps, noise, conversions
            frames = make_chunk_frames(self.preset, self.project, self.scene, index, context, anchor, seed, prompt, stop)
        expected = s.frames_per_chunk if index == 0 else s.frames_per_chunk - s.context_frames
        check_frames(frames, f"chunk {index}")
        if frames.shape != (expected, *self.size, 3):
            raise StudioError(f"chunk {index} came out with shape {frames.shape}, expected {(expected, *self.size, 3)}")
        old = self.scene.chunks[index] if index < len(self.scene.chunks) else None
        same = old is not None and same_frames(self.paths, self.scene.id, old, frames)
        unchanged = regenerate and same
        # 3. Keep-later: heal the seam with the kept chunk k+1, in memory, before anything is written.
        healer = None
        if keep_later and regenerate and not unchanged:
            healer = SeamHealer(self.paths, self.preset, self.scene, index)
            frames = healer.heal(frames, seed, stop)
        seconds = time.perf_counter() - started
        # 4. A new version's files at a take number no record names (the same frames: the files it has),
        #    then one save of the records that makes it active. Nothing on record is ever rewritten.
        number = old.take if same else next_take_number(old)
        if not same:
            write_take(self.paths, self.scene.id, index, number, frames, s.fps)
        written = healer.write_next() if healer is not None else []  # chunk k+1's healed take
        record, dropped = self._record(index, seed, prompt, seconds, old, same, number)
        stale = self._later_chunks(index, record, healer, stale_after=regenerate and not unchanged)
        try:
            write_draft(self.paths, self.scene)  # derived from the records about to be saved (a full disk stops here)
            self._save()
        except BaseException:  # not recorded: no record names the new files
            if not same:
                free_takes(self.paths, self.scene.id, index, [number])
            if healer is not None:
                healer.free_next()
            raise
        # 5. What no record names any more.
        free_takes(self.paths, self.scene.id, index, dropped)
        if healer is not None:
            healer.free_dropped()
        if index == 0 and not self.paths.scene_image(self.scene.id).is_file():
            save_png(frames[0], self.paths.anchor(self.scene.id))
        logger.info("scene %s chunk %d: take %d, %d frames in %.1f s", self.scene.id, index, number, len(frames), seconds)
        return ChunkEvent(self.scene.id, index, seed, len(frames), self.paths.take_frames(self.scene.id, index, number),
                          self.paths.take_preview(self.scene.id, index, number), seconds, stale, take=number,
                          seam=healer.healing if healer else None, written=written)

    def _record(self, index: int, seed: int, prompt: str, seconds: float, old: Chunk | None, same: bool,
                number: int) -> tuple[Chunk, list[int]]:
        """Chunk `index`'s record with take `number` active (in the scene, not saved yet), and the takes it drops."""
        chunks, dropped = self.scene.chunks, []
        takes = list(old.takes) if old is not None else []
        if old is not None and not same:
            if old.status != "failed" and take_has_files(self.paths, self.scene.id, index, old.take):
                takes.append(as_take(old))  # the version it replaces stays a take
            else:
                dropped.append(old.take)  # never finished: nothing to keep
            takes, over = keep_within(takes, self.preset.streaming.max_takes)
            dropped += [take.number for take in over]
        record = Chunk(index=index, seed=seed, prompt=prompt, status="ready", seconds=round(seconds, 3),
                       approval=old.approval if same else "pending", take=number,
                       after_take=None if index == 0 else chunks[index - 1].take,
                       made=old.made if same and old.made else utc_now(), takes=takes)
        if index < len(chunks):
            chunks[index] = record
        else:
            chunks.append(record)
        self.scene.family = self.preset.models.family  # saved with the chunk: a preset of another family is refused
        if self.paths.refined(self.scene.id).is_file():
            self.scene.refined_outdated = True  # refined from the chunks as they were
        return record, dropped

    def _later_chunks(self, index: int, record: Chunk, healer: SeamHealer | None, *, stale_after: bool) -> list[int]:
        """Keep-later: chunk k+1 gets its healed take; otherwise the chunks made from the old frames become stale."""
        if healer is not None:
            healer.record_next(record.take)
            return []
        stale = []
        for later in self.scene.chunks[index + 1:] if stale_after else []:
            later.status = "stale"  # a hidden one too: shown again, it would continue frames that are gone
            stale.append(later.index)
        return stale

    def _save(self) -> None:
        self.base = _save_progress(self.save, self.project, self.project_dir, self.scene.id, self.base)

    def _context(self, index: int) -> np.ndarray | None:
        """The CAM frames: the scene image repeated for chunk 0, else the last Fc frames so far."""
        if index == 0:
            image = self._scene_image()
            return None if image is None else np.repeat(image[None], self.context_count, axis=0)
        parts, have = [], 0
        for earlier in reversed(self.scene.chunks[:index]):
            frames = load_frames(self.paths.chunk_frames(self.scene.id, earlier), chunk_shape(self.preset.streaming, earlier.index))
            parts.insert(0, frames)
            have += len(frames)
            if have >= self.context_count:
                break
        frames = np.concatenate(parts)[-self.context_count:]  # (Fc, H, W, 3)
        if frames.shape[1:3] != self.size:
            raise StudioError(f"scene {self.scene.id!r} chunks are {frames.shape[2]}x{frames.shape[1]}, the preset makes "
                              f"{self.size[1]}x{self.size[0]}; use the preset the scene was made with")
        return frames

    def _anchor(self, index: int) -> np.ndarray | None:
        """The APM anchor: the scene image, else frame 0 of chunk 0 (none while making chunk 0)."""
        image = self._scene_image()
        if image is not None or index == 0:
            return image
        return load_frames(self.paths.chunk_frames(self.scene.id, self.scene.chunks[0]), chunk_shape(self.preset.streaming, 0))[0]

    def _scene_image(self) -> np.ndarray | None:
        path = self.paths.scene_image(self.scene.id)
        if not path.exists():
            return None
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as image:
                image = image.convert("RGB")
                if image.size != (self.size[1], self.size[0]):
                    image = image.resize((self.size[1], self.size[0]), Image.Resampling.LANCZOS)
                return np.asarray(image, dtype=np.uint8).copy()
        except FileNotFoundError:
            raise StudioError(f"scene image {path} is missing; remake it in References or clear the scene image") from None
        except (UnidentifiedImageError, OSError) as error:
            raise StudioError(f"scene image {path} is not a readable image ({type(error).__name__}); press Make references "
                              "in References (or run `python -m studio references PROJECT`) to make it again") from None


def make_chunk_frames(preset: Preset, project: Project, scene: Scene, index: int, context: np.ndarray | None,
                      anchor: np.ndarray | None, seed: int, prompt: str, stop) -> np.ndarray:
    """The frames chunk `index` adds, from the preset's backend (neural pipeline or animatic)."""
    if preset.models.backend == "animatic":
        from studio.animatic import render_chunk  # lazy: another stage's module

        if stop is not None and stop.is_set():
            raise StoppedError("stopped; finished chunks are kept")
        return render_chunk(preset, project.script, scene, index, context, anchor, seed, prompt)
    from studio.generate.gpu_chunk import make_streaming_chunk  # one GPU call per chunk on ZeroGPU

    return make_streaming_chunk(preset, prompt, context, anchor, seed, stop, keep_context=index == 0)


def generate_project(project_dir: Path, preset: Preset, *, scene_id: str | None = None, num_chunks: int | None = None,
                     stop=None) -> Iterator:
    """Stage 3: make every scene (or one) chunk by chunk, yielding one event per finished chunk."""
    project = load_project(project_dir)  # a missing or corrupt project is reported before anything runs
    for current in scene_ids_to_make(project, scene_id):
        if stop is not None and stop.is_set():
            return
        yield from generate_scene(project_dir, preset, current, num_chunks=num_chunks, stop=stop)


def _save_progress(save, project: Project, project_dir: Path, scene_id: str, base: dict) -> dict:
    """Record the loop's progress. The default writer merges only this scene's generation fields into
    project.json as it is now (an edit made meanwhile survives); a cluster worker's `save` gets the project."""
    if save is save_project:
        return save_scene_progress(project, project_dir, scene_id=scene_id, base=base, fields=tuple(base))
    save(project, project_dir)
    return base
