"""All five stages in a row, for `python -m studio run`: prompt -> script -> references -> chunks -> refined scenes -> mp4."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from studio.config import Preset
from studio.errors import StudioError


def run_all(prompt: str, project_dir: Path, preset: Preset, *, output: Path, planner: str | None = None,
            num_scenes: int | None = None, num_chunks: int | None = None, refine: bool = True, stop=None,
            log: Callable[[str], None] = lambda line: None) -> Path:
    """All five stages: prompt -> script -> references -> chunks -> refined scenes -> final mp4."""
    from studio.export.stage import export_project
    from studio.generate.stage import generate_project
    from studio.plan.stage import plan_project
    from studio.references.stage import make_references
    from studio.project.paths import ProjectPaths
    from studio.refine.stage import refine_project

    # 1. Plan.
    project = plan_project(project_dir, prompt, preset, planner=planner, num_scenes=num_scenes)
    log(f"plan: {len(project.script.scenes)} scenes, {len(project.script.entities)} entities")
    # 2. Cast: every reference is approved as made (there is nobody to review them in a batch run).
    project = make_references(project_dir, preset, approve=True)
    paths = ProjectPaths(project_dir)
    log(f"refs: {sum(1 for e in project.script.entities if paths.entity_image(e.id).is_file())} entity images")
    # 3. Shoot.
    for event in generate_project(project_dir, preset, num_chunks=num_chunks, stop=stop):
        log(f"generate: {event.scene_id} chunk {event.index} ({event.seconds:.1f} s)")
    if stop is not None and stop.is_set():
        raise StudioError("stopped; finished chunks are kept (run `generate` on the project to resume)")
    # 4. Refine: the chunks stay pending, unreviewed as in any batch run, so no warning for each scene.
    if refine:
        for result in refine_project(project_dir, preset, stop=stop, warn=lambda line: None):
            log(f"refine: {result.scene_id} -> {result.width}x{result.height}")
    # 5. Export.
    result = export_project(project_dir, preset, output=output)
    return result.video
