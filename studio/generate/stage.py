"""The chunk loop over a project folder: generate a scene chunk by chunk, regenerate one chunk.

Each finished chunk is on disk before its event is yielded: chunk_XXX.npz (the frames it adds: 16
for chunk 0, frames_per_chunk - context_frames after that), chunk_XXX.mp4 (a preview browsers play),
the scene's draft.mp4 (every ready chunk so far) and project.json (atomically). Nothing but the
current chunk is held in memory, so memory does not grow with the number of chunks.

The memory a chunk needs comes from disk too: the last `context_frames` frames of the chunks before it
(CAM) and the scene's anchor (APM): the scene image, or else frame 0 of chunk 0 (also written as
anchor.png for people to see). So chunk k can be remade at any time from chunk k-1's file, and with
its recorded seed it comes out bit-identical.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from studio.config import Preset
from studio.errors import StoppedError, StudioError
from studio.generate.timing import timed
from studio.media.video import check_frames, chunk_shape, concat_mp4, load_frames, save_frames, write_mp4
from studio.project.model import MAX_PROMPT_CHARS, Chunk, Project, Scene, load_project, save_project, scene_ids_to_make
from studio.project.paths import ProjectPaths, atomic_write_bytes, remove_temp_files
from studio.project.progress import GENERATION_FIELDS, generation_record, save_scene_progress

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
    _check_chunk_count(total, preset)
    paths = ProjectPaths(project_dir)
    shown_again = _hidden_to_show(scene, paths, total, preset) if num_chunks is not None else []
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
    start = _first_not_ready(scene, paths, total)
    _check_chunk_files(scene, paths, start, preset)  # a corrupt chunk stops us before anything is written
    if recount:
        if shown_again:  # the draft shows them again too
            draft = paths.draft(scene.id)
            _write_draft(paths, scene, draft, preset.streaming.fps)
            scene.draft = paths.relative(draft)
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
                     prompt: str | None = None, stop=None, save=save_project) -> ChunkEvent:
    """Make chunk `chunk_index` again from chunk k-1's frames and the anchor; later chunks become stale.

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
    _check_chunk_files(scene, paths, chunk_index, preset)
    if prompt is not None and not prompt.strip():
        raise StudioError("the new prompt is empty; give some text or leave --prompt out")
    if prompt is not None and len(prompt.strip()) > MAX_PROMPT_CHARS:  # checked before any work, as saving would
        raise StudioError(f"the new prompt is {len(prompt.strip())} characters long; the limit is {MAX_PROMPT_CHARS}")
    old = scene.chunks[chunk_index]
    seed = old.seed if seed is None else int(seed)
    prompt = (old.prompt or scene.prompt_for_chunk(chunk_index)) if prompt is None else prompt.strip()
    if stop is not None and stop.is_set():
        raise StoppedError("stopped before regenerating; nothing changed")
    return _ChunkMaker(project_dir, preset, project, scene, save).make(chunk_index, seed, prompt, stop, regenerate=True)


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
        swept = remove_temp_files(self.paths.scene_dir(scene.id))  # left by a run that was killed mid-write
        if swept:
            logger.info("removed %d temporary files of an interrupted run in scene %s", len(swept), scene.id)
        s = preset.streaming
        self.context_count = s.context_frames
        self.size = (s.height, s.width)

    def make(self, index: int, seed: int, prompt: str, stop, *, regenerate: bool = False) -> ChunkEvent:
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
        seconds = time.perf_counter() - started
        # 3. Files first (each atomic), then project.json: a crash never leaves a chunk that looks finished.
        frames_path = self.paths.chunk_frames(self.scene.id, index)
        unchanged = regenerate and _same_frames(frames_path, frames)
        if index < len(self.scene.chunks):
            before = ([dataclasses.replace(chunk) for chunk in self.scene.chunks], self.scene.draft, self.scene.refined_outdated)
            old_files = _read_files(self._files_replaced(index))
            self._mark_replacing(index, seed, prompt, frames_path, stale_after=regenerate and not unchanged)
            try:
                return self._keep(index, seed, prompt, frames, frames_path, seconds, regenerate and not unchanged)
            except BaseException:  # put the old files back, then the old record: the project is as it was
                _restore_files(old_files)  # (if this fails too, the record stays stale: the chunk is remade)
                self.scene.chunks[:], self.scene.draft, self.scene.refined_outdated = before
                self._save()
                raise
        return self._keep(index, seed, prompt, frames, frames_path, seconds, False)

    def _keep(self, index: int, seed: int, prompt: str, frames: np.ndarray, frames_path: Path, seconds: float,
              stale_after: bool) -> ChunkEvent:
        """The chunk's files, the draft, then its record in project.json."""
        s = self.preset.streaming
        save_frames(frames, frames_path)
        preview_path = write_mp4(frames, self.paths.chunk_preview(self.scene.id, index), fps=s.fps)
        if index == 0 and not self.scene.scene_image:
            _save_png(frames[0], self.paths.scene_dir(self.scene.id) / "anchor.png")
        record = Chunk(index=index, seed=seed, prompt=prompt, status="ready", frames=self.paths.relative(frames_path),
                       preview=self.paths.relative(preview_path), seconds=round(seconds, 3))
        chunks = self.scene.chunks
        if index < len(chunks):
            chunks[index] = record
        else:
            chunks.append(record)
        stale = []
        if stale_after:  # later chunks were made from the old frames
            for later in chunks[index + 1:]:
                later.status = "stale"
                stale.append(later.index)
        draft = self.paths.draft(self.scene.id)
        _write_draft(self.paths, self.scene, draft, s.fps)
        self.scene.draft = self.paths.relative(draft)
        self.scene.refined_outdated = self.scene.refined is not None  # refined from the chunks as they were
        self._save()
        logger.info("scene %s chunk %d: %d frames in %.1f s", self.scene.id, index, len(frames), seconds)
        return ChunkEvent(self.scene.id, index, seed, len(frames), frames_path, preview_path, seconds, stale)

    def _save(self) -> None:
        self.base = _save_progress(self.save, self.project, self.project_dir, self.scene.id, self.base)

    def _files_replaced(self, index: int) -> list[Path]:
        """What replacing chunk `index` rewrites besides project.json (kept to be put back on a failure)."""
        folder = self.paths.scene_dir(self.scene.id)
        return [self.paths.chunk_frames(self.scene.id, index), self.paths.chunk_preview(self.scene.id, index),
                self.paths.draft(self.scene.id), folder / "anchor.png"]

    def _mark_replacing(self, index: int, seed: int, prompt: str, frames_path: Path, *, stale_after: bool) -> None:
        """Before an existing chunk's files are replaced: record its new seed and prompt as stale (and the
        chunks made from its old frames), so a crash mid-replacement resumes with the new seed, never
        leaving new frames under the old record, or a later chunk "ready" on frames that are gone."""
        old = self.scene.chunks[index]
        self.scene.chunks[index] = dataclasses.replace(old, seed=seed, prompt=prompt, status="stale",
                                                       frames=self.paths.relative(frames_path))
        for later in self.scene.chunks[index + 1:] if stale_after else []:
            later.status = "stale"  # a hidden one too: shown again, it would continue frames that are gone
        self._save()

    def _context(self, index: int) -> np.ndarray | None:
        """The CAM frames: the scene image repeated for chunk 0, else the last Fc frames so far."""
        if index == 0:
            image = self._scene_image()
            return None if image is None else np.repeat(image[None], self.context_count, axis=0)
        parts, have = [], 0
        for earlier in reversed(self.scene.chunks[:index]):
            frames = load_frames(self.paths.absolute(earlier.frames), chunk_shape(self.preset.streaming, earlier.index))
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
        return load_frames(self.paths.absolute(self.scene.chunks[0].frames), chunk_shape(self.preset.streaming, 0))[0]

    def _scene_image(self) -> np.ndarray | None:
        if not self.scene.scene_image:
            return None
        from PIL import Image, UnidentifiedImageError

        path = self.paths.absolute(self.scene.scene_image)
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


# ----------------------------------------------------------------------------- helpers


def _check_chunk_count(total, preset: Preset) -> None:
    cap = preset.streaming.max_chunks
    if isinstance(total, bool) or not isinstance(total, int) or not 1 <= total <= cap:
        raise StudioError(f"number of chunks {total!r} must be between 1 and {cap} (streaming.max_chunks of preset {preset.name!r})")


def _hidden_to_show(scene: Scene, paths: ProjectPaths, total: int, preset: Preset) -> list[Chunk]:
    """The hidden records a raised count shows again as they are: those right after the ready chunks, up to
    `total`, whose files are whole (hidden records are only ever finished ones; a change before them made them stale)."""
    shown = []
    for chunk in scene.chunks[:total]:
        if chunk.status == "ready":
            continue
        if chunk.status != "hidden" or not chunk.frames or not chunk.preview:
            break
        if not paths.absolute(chunk.preview).is_file():
            break
        try:
            load_frames(paths.absolute(chunk.frames), chunk_shape(preset.streaming, chunk.index))
        except StudioError:
            break  # remade with its own seed and prompt
        shown.append(chunk)
    return shown


def _first_not_ready(scene: Scene, paths: ProjectPaths, total: int) -> int:
    for index, chunk in enumerate(scene.chunks[:total]):
        if chunk.status != "ready" or not chunk.frames or not paths.absolute(chunk.frames).is_file():
            return index
    return min(len(scene.chunks), total)


def _check_chunk_files(scene: Scene, paths: ProjectPaths, count: int, preset: Preset) -> None:
    """Load chunks 0..count-1 once: a missing, corrupt or wrong-sized file is an error naming it, before any work."""
    for chunk in scene.chunks[:count]:
        if not chunk.frames:
            raise StudioError(f"chunk {chunk.index} of scene {scene.id!r} has no frames file; regenerate that chunk")
        load_frames(paths.absolute(chunk.frames), chunk_shape(preset.streaming, chunk.index))


def _save_progress(save, project: Project, project_dir: Path, scene_id: str, base: dict) -> dict:
    """Record the loop's progress. The default writer merges only this scene's generation fields into
    project.json as it is now (an edit made meanwhile survives); a cluster worker's `save` gets the project."""
    if save is save_project:
        return save_scene_progress(project, project_dir, scene_id=scene_id, base=base, fields=tuple(base))
    save(project, project_dir)
    return base


def _read_files(paths: list[Path]) -> dict[Path, bytes | None]:
    return {path: path.read_bytes() if path.is_file() else None for path in paths}


def _restore_files(files: dict[Path, bytes | None]) -> None:
    for path, data in files.items():
        if data is None:
            path.unlink(missing_ok=True)
        elif not path.is_file() or path.read_bytes() != data:
            atomic_write_bytes(path, data)


def _same_frames(path: Path, frames: np.ndarray) -> bool:
    try:
        return np.array_equal(load_frames(path), frames)
    except StudioError:
        return False


def _save_png(frame: np.ndarray, path: Path) -> None:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())


def _write_draft(paths: ProjectPaths, scene: Scene, path: Path, fps: int) -> None:
    """draft.mp4 = the preview segments of every ready chunk in order, joined without re-encoding."""
    segments = []
    for chunk in scene.chunks:
        if chunk.status != "ready" or not chunk.preview:
            break
        segments.append(paths.absolute(chunk.preview))
    if segments:
        concat_mp4(segments, path)


def generate_project(project_dir: Path, preset: Preset, *, scene_id: str | None = None, num_chunks: int | None = None,
                     stop=None) -> Iterator:
    """Stage 3: make every scene (or one) chunk by chunk, yielding one event per finished chunk."""
    project = load_project(project_dir)  # a missing or corrupt project is reported before anything runs
    for current in scene_ids_to_make(project, scene_id):
        if stop is not None and stop.is_set():
            return
        yield from generate_scene(project_dir, preset, current, num_chunks=num_chunks, stop=stop)
