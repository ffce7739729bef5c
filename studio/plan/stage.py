"""Stage 1, Plan: one prompt -> an editable multi-scene Script, written to project.json."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from pathlib import Path

from studio.config import PLANNERS, Preset, preset_reference
from studio.errors import StudioError
from studio.project.lock import project_lock
from studio.project.model import (
    MAX_PROMPT_CHARS,
    MAX_SCENES,
    Project,
    Script,
    new_project,
    save_project,
    script_from_dict,
    slugify,
)

logger = logging.getLogger(__name__)



def check_prompt(prompt: object) -> str:
    """The prompt, stripped; a one-line StudioError when it is empty or too long."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise StudioError("the prompt is empty: describe the video in a sentence or more")
    prompt = prompt.strip()
    if len(prompt) > MAX_PROMPT_CHARS:
        raise StudioError(f"the prompt is {len(prompt):,} characters long; the limit is {MAX_PROMPT_CHARS:,}: shorten it")
    return prompt


def plan_script(prompt: str, preset: Preset, *, planner: str | None = None, num_scenes: int | None = None) -> Script:
    """Plan `prompt` into a validated Script (scene ids scene-1, scene-2, ...; deterministic seeds)."""
    prompt = check_prompt(prompt)
    planner = planner or preset.planning.planner
    if planner not in PLANNERS:
        raise StudioError(f"unknown planner {planner!r}: use one of {', '.join(PLANNERS)}")
    if num_scenes is None:
        num_scenes = preset.planning.num_scenes or None
    if num_scenes is not None and (isinstance(num_scenes, bool) or not isinstance(num_scenes, int)
                                   or not 1 <= num_scenes <= MAX_SCENES):
        raise StudioError(f"number of scenes {num_scenes!r} must be a whole number between 1 and {MAX_SCENES}")
    if planner == "rules":
        from studio.plan.rules import plan_rules

        script = plan_rules(prompt, preset, num_scenes)
    elif planner == "local":
        from studio.plan.local import PlannerModelUnavailable, plan_local

        try:
            script = plan_local(prompt, preset, num_scenes)
        except PlannerModelUnavailable as error:  # the rules planner is the offline fallback
            from studio.plan.rules import plan_rules

            logger.warning("%s; planning with the rules planner instead", error)
            planner, script = "rules", plan_rules(prompt, preset, num_scenes)
    else:
        from studio.plan.remote import plan_remote

        script = plan_remote(prompt, preset, num_scenes)
    # The JSON round trip runs every check project.json will get when it is read back.
    script = script_from_dict(dataclasses.asdict(script))
    logger.info("planned %d scenes and %d entities with the %s planner", len(script.scenes), len(script.entities), planner)
    return script


def plan_project(project_dir: Path, prompt: str, preset: Preset, *, planner: str | None = None,
                 num_scenes: int | None = None) -> Project:
    """Stage 1: write project.json with a script planned from `prompt` (nothing is written on error)."""
    script = plan_script(prompt, preset, planner=planner, num_scenes=num_scenes)
    project_dir = Path(project_dir)
    project_id = slugify(project_dir.name, fallback="project")[:64]
    project = new_project(project_id, preset_reference(preset), script)
    with project_lock(project_dir) if project_dir.is_dir() else contextlib.nullcontext():  # a new folder has no other writer
        save_project(project, project_dir)
    return project
