"""`references` (alias `refs`): stage 2, entity reference images and scene images."""

from __future__ import annotations

import argparse
from pathlib import Path

from studio.cli.common import add_preset_option, resolve_preset, seed_argument, tqdm_progress


def register(commands) -> None:
    # `refs` was this command's name before every stage had one name; it stays as an alias for one release.
    parser = commands.add_parser("references", aliases=["refs"], help="Stage 2: make entity reference images and scene images")
    parser.add_argument("project", type=Path, help="project folder")
    parser.add_argument("--entity", default=None, help="regenerate only this entity's reference")
    parser.add_argument("--seed", type=seed_argument, default=None, help="seed for the regenerated reference")
    parser.add_argument("--approve", action="store_true",
                        help="approve the references as they are made (scene images use approved references only)")
    add_preset_option(parser)
    parser.set_defaults(handler=run_references)


def run_references(args: argparse.Namespace) -> int:
    from studio.project.paths import ProjectPaths
    from studio.references.stage import make_references

    preset = resolve_preset(args.preset, args.project)
    project = make_references(args.project, preset, entity_id=args.entity, seed=args.seed, approve=args.approve,
                               progress=tqdm_progress("references"))
    paths = ProjectPaths(args.project)
    made = (sum(1 for e in project.script.entities if paths.entity_image(e.id).is_file())
            + sum(1 for s in project.script.scenes if paths.scene_image(s.id).is_file()))
    pending = [e.id for e in project.script.entities if e.status == "pending"]
    print(f"{made} reference and scene images in {args.project}")
    if pending:
        print(f"pending approval: {', '.join(pending)} (approve in the References tab, or run references --approve)")
    return 0
