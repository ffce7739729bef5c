"""Several chunk regenerations in one job: every request checked first, then made one after the other.

A bad request (unknown scene, no such chunk, a seed out of range, an empty or too long prompt) fails the
whole job before anything is made. The requests run grouped by scene (in the order each scene is first
named) and, within a scene, in chunk order: chunk k is remade from chunk k-1's frames, so an earlier
chunk must be final before a later one is made from it. A stop keeps the chunks already remade.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from studio.config import Preset
from studio.errors import StoppedError, StudioError, ValidationError
from studio.generate.stage import ChunkEvent, regenerate_chunk
from studio.media.video import chunk_shape, load_frames
from studio.project.model import MAX_PROMPT_CHARS, MAX_SEED, Project, load_project
from studio.project.paths import ProjectPaths


@dataclass
class RegenerateRequest:
    """One chunk to make again; None keeps the chunk's recorded seed or prompt."""

    scene_id: str
    chunk_index: int
    seed: int | None = None
    prompt: str | None = None
    keep_later: bool = False  # keep the chunks after it as they are (needs chunk takes)


@dataclass
class BatchResult:
    done: list[ChunkEvent] = field(default_factory=list)  # the chunks remade, in the order they were made
    stopped: bool = False
    remaining: list[RegenerateRequest] = field(default_factory=list)  # not made (a stop), in job order


OnEvent = Callable[[int, int, ChunkEvent], None]  # (index in the job from 0, requests in the job, the event)


def regenerate_chunks(project_dir: Path, preset: Preset, requests: list[RegenerateRequest], *, stop=None,
                      on_event: OnEvent | None = None, regenerate: Callable = regenerate_chunk) -> BatchResult:
    """Make every requested chunk again, in job order (see `job_order`), calling `regenerate` for each.

    `regenerate` has regenerate_chunk's signature (the CLI passes the cluster job); keep_later reaches it
    only when set, so a regenerate that does not know it still runs every other request.
    """
    project_dir = Path(project_dir)
    ordered = job_order(requests)
    check_requests(load_project(project_dir), project_dir, preset, ordered, regenerate)
    result = BatchResult()
    for position, request in enumerate(ordered):
        if stop is not None and stop.is_set():
            result.stopped, result.remaining = True, ordered[position:]
            break
        options = dict(seed=request.seed, prompt=request.prompt, stop=stop)
        if request.keep_later:
            options["keep_later"] = True
        try:
            event = regenerate(project_dir, preset, request.scene_id, request.chunk_index, **options)
        except StoppedError:  # the chunk being made is left as it was; the ones before it are kept
            result.stopped, result.remaining = True, ordered[position:]
            break
        result.done.append(event)
        if on_event is not None:
            on_event(position, len(ordered), event)
    return result


def job_order(requests: list[RegenerateRequest]) -> list[RegenerateRequest]:
    """Grouped by scene, in the order the scenes are first named; in chunk order within a scene."""
    first_named: dict[str, int] = {}
    for request in requests:
        first_named.setdefault(request.scene_id, len(first_named))
    return sorted(requests, key=lambda r: (first_named[r.scene_id], r.chunk_index if _is_index(r.chunk_index) else 0))


def check_requests(project: Project, project_dir: Path, preset: Preset, ordered: list[RegenerateRequest],
                   regenerate: Callable = regenerate_chunk) -> None:
    """Every request, before anything is made: one line naming the first bad one."""
    if not ordered:
        raise StudioError("no chunk to regenerate; name one with --chunk K (with --scene) or --chunk SCENE:K")
    paths = ProjectPaths(project_dir)
    takes_keep_later = "keep_later" in inspect.signature(regenerate).parameters
    previous: RegenerateRequest | None = None
    for request in ordered:
        what = f"request {request.scene_id}:{request.chunk_index}"
        scene = project.script.scene(request.scene_id)  # an unknown scene names the known ones
        index = request.chunk_index
        if not _is_index(index) or not 0 <= index < len(scene.chunks):
            have = f"chunks 0-{len(scene.chunks) - 1}" if scene.chunks else "no chunks yet"
            raise ValidationError(f"scene {scene.id!r} has no chunk {index!r} ({have}); generate it first")
        if request.seed is not None and (not _is_index(request.seed) or not 0 <= request.seed <= MAX_SEED):
            raise ValidationError(f"{what}: seed {request.seed!r:.40} must be a whole number from 0 to {MAX_SEED}")
        if request.prompt is not None:
            if not isinstance(request.prompt, str) or not request.prompt.strip():
                raise ValidationError(f"{what}: the new prompt is empty; give some text or leave the prompt out")
            if len(request.prompt.strip()) > MAX_PROMPT_CHARS:
                raise ValidationError(f"{what}: the new prompt is {len(request.prompt.strip())} characters long; "
                                      f"the limit is {MAX_PROMPT_CHARS}")
        if request.keep_later and not takes_keep_later:
            raise StudioError(f"{what}: keeping the later chunks needs chunk takes, which this studio does not have; "
                              "leave keep_later out (the later chunks then become stale)")
        same_scene = previous is not None and previous.scene_id == request.scene_id
        if same_scene and previous.chunk_index == index:
            raise ValidationError(f"chunk {index} of scene {scene.id!r} is asked for twice; name each chunk once")
        # The chunks it is made from must be ready when its turn comes: those before the scene's first
        # request now, and those between two requests stay ready only if the earlier one keeps them.
        first_needed = previous.chunk_index + 1 if same_scene else 0
        for earlier in scene.chunks[first_needed:index]:
            if earlier.status != "ready":
                raise StudioError(f"chunk {earlier.index} of scene {scene.id!r} is {earlier.status}; continue "
                                  f"generation from there before regenerating chunk {index}")
            if same_scene and not previous.keep_later:
                raise StudioError(f"regenerating chunk {previous.chunk_index} of scene {scene.id!r} makes chunk "
                                  f"{earlier.index} stale before chunk {index} is made from it; ask for chunk "
                                  f"{earlier.index} too, or keep the later chunks")
            # Whole and the right size: a corrupt file stops the job here rather than halfway through.
            load_frames(paths.chunk_frames(scene.id, earlier), chunk_shape(preset.streaming, earlier.index))
        previous = request


def _is_index(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
