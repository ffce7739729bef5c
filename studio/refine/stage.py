"""Stage 4: refine a scene's draft into a high-resolution video with no seams between windows.

SDEdit with a video-to-video UNet3D (StreamingT2V stage 3): upscale the draft frames (Lanczos) to the
preset's refine size, encode them with the VAE, noise them to t ~ strength * 1000 (official: 600),
then denoise the whole video in overlapping windows (studio.models.sdedit, .blending) at every step, with batched
classifier-free guidance. Modes (the paper's Figure 4):

- randomized   (default) one shared noise tensor; at every step each overlap gets a fresh random cut
- shared-noise one shared noise tensor; the cut is fixed in the middle of each overlap
- naive        each window has its own noise and is denoised on its own; cut in the middle at the end

Where the merge happens: on the UNet's outputs (after guidance) before the solver update, applied to
one full-length latent. Every window is sliced from that same latent, and the DDIM update is a
per-frame function of (x_t, model output), so taking frame f's output from window w is the same as
taking window w's x0 prediction (official ModelScope refiner) or its post-step latent (official SVD
refiner) for that frame. The solver steps once over the whole video, so any per-step noise is shared too.

With the animatic backend (no models) the refinement is a plain Lanczos upscale, and the log says so.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from studio.config import REFINE_MODES, Preset
from studio.errors import StoppedError, StudioError
from studio.project.approval import approval_note, ready_chunks
from studio.project.lock import project_lock
from studio.project.model import Project, load_project, scene_ids_to_make

logger = logging.getLogger(__name__)

XT_SLICE_NAME = "refined_xt.png"

Progress = Callable[[float, str], None]


@dataclass
class RefineResult:
    scene_id: str
    path: Path  # scenes/<id>/refined.mp4
    num_frames: int
    width: int
    height: int
    mode: str  # randomized | shared-noise | naive | lanczos (animatic)
    seam_score_draft: float  # std over time of the mean optical-flow magnitude; lower is smoother
    seam_score_refined: float
    xt_slice_path: Path
    seconds: float


# ----------------------------------------------------------------------------- sizes and pixels


def refine_size(draft_width: int, draft_height: int, width: int, height: int) -> tuple[int, int]:
    """The refined size: the preset's (width, height) when the draft has its aspect ratio (a square
    draft -> 720x720, no padding); otherwise the draft's aspect ratio at the preset's pixel count,
    rounded to multiples of 8."""
    if width % 8 or height % 8 or width < 8 or height < 8:
        raise StudioError(f"refine size {width}x{height} must be positive and divisible by 8; fix refine.width/height in the preset")
    if draft_width * height == draft_height * width:
        return width, height
    scale = math.sqrt(width * height / (draft_width * draft_height))
    return max(8, round(draft_width * scale / 8) * 8), max(8, round(draft_height * scale / 8) * 8)


def upscale_frames(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """Lanczos resize of every frame: (T, H, W, 3) uint8 -> (T, height, width, 3) uint8."""
    import cv2

    return np.stack([cv2.resize(frame, (width, height), interpolation=cv2.INTER_LANCZOS4) for frame in frames])


# ----------------------------------------------------------------------------- the stage


def refine_scene(project_dir: Path, preset: Preset, scene_id: str, *, mode: str | None = None, seed: int | None = None,
                 strength: float | None = None, stop=None, progress: Progress | None = None,
                 save=None) -> RefineResult:
    """Refine one scene's draft into scenes/<id>/refined.mp4 (+ its X-T slice) and record it in project.json.

    A stop raises StoppedError before anything is written: the draft and the project stay as they were.
    `save(project, project_dir)` records the result (default: project.json; a cluster worker hands it to the head).
    """
    from studio.media.video import load_scene_frames, write_mp4
    from studio.metrics.seams import save_xt_slice, seam_score
    from studio.project.model import load_project, save_project
    from studio.project.paths import ProjectPaths

    began = time.perf_counter()
    report = progress or (lambda fraction, message: None)
    config = preset.refine
    mode = mode or config.mode
    strength = config.strength if strength is None else float(strength)
    if mode not in REFINE_MODES:
        raise StudioError(f"refine mode {mode!r} must be one of {', '.join(REFINE_MODES)}")
    project_dir = Path(project_dir)
    project = load_project(project_dir)
    scene = project.script.scene(scene_id)
    seed = scene.seed if seed is None else int(seed)
    if not scene.chunks or scene.chunks[0].status != "ready":
        raise StudioError(f"scene {scene_id!r} has no draft to refine; run `generate` for it first")
    from studio.generate.family import check_family

    check_family(scene, preset)  # a draft refined by another family's model would mean nothing
    draft = load_scene_frames(project_dir, scene)  # (T, h, w, 3): the ready chunks, in order
    num_frames, draft_height, draft_width = draft.shape[:3]
    if preset.models.family == "ltx":  # the latent upscaler doubles the size; no pixel upscale first
        from studio.generate.ltx.refine import ltx_refine_frames

        used_mode = mode
        report(0.0, f"refining {num_frames} frames to {2 * draft_width}x{2 * draft_height} with the latent upscaler")
        frames = ltx_refine_frames(preset, draft, scene.prompt_for_chunk(0), strength=strength, seed=seed, mode=mode,
                                   upscale=True, stop=stop, report=report)
    else:
        used_mode, frames = _refine_pixels(preset, draft, scene, mode=mode, seed=seed, strength=strength, stop=stop,
                                           report=report)
    if stop is not None and stop.is_set():
        raise StoppedError("refine stopped; the draft and project.json are unchanged")

    # Write the video and its X-T slice, then record the video in the project.
    paths = ProjectPaths(project_dir)
    path = write_mp4(frames, paths.refined(scene_id), fps=preset.streaming.fps)
    xt_path = save_xt_slice(frames, paths.scene_dir(scene_id) / XT_SLICE_NAME)
    with project_lock(project_dir):  # re-read under the lock: another stage may have saved meanwhile
        project = load_project(project_dir)
        refined_scene = project.script.scene(scene_id)
        refined_scene.refined_outdated = False  # (its video is refined.mp4: no record names it)
        (save or save_project)(project, project_dir)
    result = RefineResult(
        scene_id=scene_id, path=path, num_frames=len(frames), width=frames.shape[2], height=frames.shape[1],
        mode=used_mode, seam_score_draft=seam_score(draft), seam_score_refined=seam_score(frames),
        xt_slice_path=xt_path, seconds=time.perf_counter() - began,
    )
    report(1.0, f"refined {scene_id}: {result.width}x{result.height}, {result.num_frames} frames")
    logger.info("refine %s (%s): seam score draft %.3f -> refined %.3f in %.1f s", scene_id, used_mode,
                result.seam_score_draft, result.seam_score_refined, result.seconds)
    return result


def _refine_pixels(preset: Preset, draft: np.ndarray, scene, *, mode: str, seed: int, strength: float, stop,
                   report: Progress) -> tuple[str, np.ndarray]:
    """StreamingT2V's refinement: a Lanczos upscale to the refine size, then SDEdit (the animatic: the upscale alone)."""
    config = preset.refine
    num_frames, draft_height, draft_width = draft.shape[:3]
    width, height = refine_size(draft_width, draft_height, config.width, config.height)
    report(0.0, f"upscaling {num_frames} frames to {width}x{height}")
    pixels = upscale_frames(draft, width, height)  # (T, H, W, 3)
    if preset.models.backend == "animatic":
        logger.info("refine %s: the animatic preset has no refiner model; this is a plain Lanczos upscale", scene.id)
        return "lanczos", pixels
    from studio.models.hub import running
    from studio.models.memory import enter_stage
    from studio.models.sdedit import sdedit_frames

    enter_stage(preset, "refine")
    with running(preset, "refiner_unet", preset.models.refiner):  # out of GPU memory: one line
        return mode, sdedit_frames(preset, pixels, scene.prompt_for_chunk(0), mode=mode, seed=seed, strength=strength,
                                   stop=stop, report=report)


def scenes_to_refine(project: Project, scene_id: str | None = None, *, approved_only: bool = False,
                     warn: Callable[[str], None] | None = None) -> list[str]:
    """The scenes a refinement takes: the one asked for, or every scene with a draft.

    With `approved_only` the scenes not fully approved are left out, each said in one line to `warn`
    (none left is an error saying why); without it each scene refined with chunks not approved is said
    in one line. `warn` defaults to a logged warning.
    """
    warn = warn or logger.warning
    ids = scene_ids_to_make(project, scene_id)
    if scene_id is None:
        ids = [s for s in ids if any(c.status == "ready" for c in project.script.scene(s).chunks)]
        if not ids:
            raise StudioError("no scene has a draft yet; run `generate` first")
    notes = {current: approval_note(project.script.scene(current)) for current in ids}
    if not approved_only:
        for current in ids:
            if notes[current] and ready_chunks(project.script.scene(current)):  # no draft: refine_scene says so
                warn(f"{notes[current]}; refined anyway (refine --approved-only skips such scenes)")
        return ids
    approved = [current for current in ids if not notes[current]]
    if not approved:
        raise StudioError(f"no scene to refine with --approved-only: {'; '.join(notes.values())}")
    for current in ids:
        if notes[current]:
            warn(f"skipped {notes[current]}")
    return approved


def refine_project(project_dir: Path, preset: Preset, *, scene_id: str | None = None, mode: str | None = None,
                   seed: int | None = None, strength: float | None = None, stop=None,
                   progress: Callable[[float, str], None] | None = None, approved_only: bool = False,
                   warn: Callable[[str], None] | None = None) -> Iterator:
    """Stage 4: refine every scene that has a draft (or one scene), yielding one result per scene.

    `approved_only` and `warn`: see scenes_to_refine (the scenes are chosen before the first is refined).
    """
    project = load_project(project_dir)
    ids = scenes_to_refine(project, scene_id, approved_only=approved_only, warn=warn)
    for current in ids:
        if stop is not None and stop.is_set():
            return
        yield refine_scene(project_dir, preset, current, mode=mode, seed=seed, strength=strength, stop=stop, progress=progress)
