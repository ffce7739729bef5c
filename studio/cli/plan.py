"""`plan`: stage 1, one prompt -> a multi-scene script in project.json."""

from __future__ import annotations

import argparse
from pathlib import Path

from studio.cli.common import add_preset_option, resolve_preset
from studio.config import PLANNERS


def register(commands) -> None:
    parser = commands.add_parser("plan", help="Stage 1: write a multi-scene script from one prompt")
    parser.add_argument("prompt", help="what the video is about (at most 2,000 characters)")
    parser.add_argument("--planner", choices=PLANNERS, default=None, help="default: the preset's")
    parser.add_argument("--scenes", type=int, default=None, help="number of scenes (default: one per event)")
    parser.add_argument("--project", required=True, type=Path, help="project folder to create or overwrite")
    add_preset_option(parser)
    parser.set_defaults(handler=run_plan)


def run_plan(args: argparse.Namespace) -> int:
    from studio.plan.stage import plan_project

    preset = resolve_preset(args.preset, planner=args.planner)
    project = plan_project(args.project, args.prompt, preset, planner=args.planner, num_scenes=args.scenes)
    script = project.script
    print(f"wrote {args.project / 'project.json'}: {len(script.scenes)} scenes, {len(script.entities)} entities")
    for scene in script.scenes:
        names = ", ".join(script.entity(e).name for e in scene.entity_ids) or "-"
        print(f"  {scene.id}: {scene.event} | {names} | {scene.background or '-'} | {scene.camera} | {scene.n_chunks} chunks")
    return 0
