"""The five stages over a whole project: the functions the CLI and the UI both call.

Each stage is a function of the project folder (the truth lives on disk, in project.json and the media
beside it) and a preset. Stage modules do the work for one scene or entity; this module walks the
project in order and chains the stages for `run`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

from studio.config import Preset, preset_reference
from studio.errors import StudioError
from studio.project import Project, load_project, new_project, save_project, slugify


def plan_project(project_dir: Path, prompt: str, preset: Preset, *, planner: str | None = None,
                 num_scenes: int | None = None) -> Project:
    """Stage 1: write project.json with a script planned from `prompt` (nothing is written on error)."""
    from studio.planning import plan_script

    script = plan_script(prompt, preset, planner=planner, num_scenes=num_scenes)
    project_dir = Path(project_dir)
    project_id = slugify(project_dir.name, fallback="project")[:64]
    project = new_project(project_id, preset_reference(preset), script)
    save_project(project, project_dir)
    return project


def scene_ids_to_make(project: Project, scene_id: str | None) -> list[str]:
    if scene_id is not None:
        return [project.script.scene(scene_id).id]
    if not project.script.scenes:
        raise StudioError("the script has no scenes; add one in the Script tab or re-run `plan`")
    return [scene.id for scene in project.script.scenes]


def generate_project(project_dir: Path, preset: Preset, *, scene_id: str | None = None, num_chunks: int | None = None,
                     stop=None) -> Iterator:
    """Stage 3: make every scene (or one) chunk by chunk, yielding one event per finished chunk."""
    project = load_project(project_dir)  # a missing or corrupt project is reported before anything runs
    from studio.streaming.generate import generate_scene

    for current in scene_ids_to_make(project, scene_id):
        if stop is not None and stop.is_set():
            return
        yield from generate_scene(project_dir, preset, current, num_chunks=num_chunks, stop=stop)


def refine_project(project_dir: Path, preset: Preset, *, scene_id: str | None = None, mode: str | None = None,
                   seed: int | None = None, strength: float | None = None, stop=None,
                   progress: Callable[[float, str], None] | None = None) -> Iterator:
    """Stage 4: refine every scene that has a draft (or one scene), yielding one result per scene."""
    from studio.refine import refine_scene

    project = load_project(project_dir)
    ids = scene_ids_to_make(project, scene_id)
    if scene_id is None:
        ids = [s for s in ids if any(c.status == "ready" for c in project.script.scene(s).chunks)]
        if not ids:
            raise StudioError("no scene has a draft yet; run `generate` first")
    for current in ids:
        if stop is not None and stop.is_set():
            return
        yield refine_scene(project_dir, preset, current, mode=mode, seed=seed, strength=strength, stop=stop, progress=progress)


def run_all(prompt: str, project_dir: Path, preset: Preset, *, output: Path, planner: str | None = None,
            num_scenes: int | None = None, num_chunks: int | None = None, refine: bool = True, stop=None,
            log: Callable[[str], None] = lambda line: None) -> Path:
    """All five stages: prompt -> script -> references -> chunks -> refined scenes -> final mp4."""
    from studio.export import export_project
    from studio.references import make_references

    # 1. Plan.
    project = plan_project(project_dir, prompt, preset, planner=planner, num_scenes=num_scenes)
    log(f"plan: {len(project.script.scenes)} scenes, {len(project.script.entities)} entities")
    # 2. Cast: every reference is approved as made (there is nobody to review them in a batch run).
    project = make_references(project_dir, preset, approve=True)
    log(f"refs: {sum(1 for e in project.script.entities if e.ref_image)} entity images")
    # 3. Shoot.
    for event in generate_project(project_dir, preset, num_chunks=num_chunks, stop=stop):
        log(f"generate: {event.scene_id} chunk {event.index} ({event.seconds:.1f} s)")
    if stop is not None and stop.is_set():
        raise StudioError("stopped; finished chunks are kept (run `generate` on the project to resume)")
    # 4. Refine.
    if refine:
        for result in refine_project(project_dir, preset, stop=stop):
            log(f"refine: {result.scene_id} -> {result.width}x{result.height}")
    # 5. Export.
    result = export_project(project_dir, preset, output=output)
    return result.video
