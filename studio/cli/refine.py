"""`refine`: stage 4, each scene upscaled window by window with randomized blending."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path

from studio.cli.common import (add_cluster_options, add_preset_option, check_cluster_options, resolve_preset,
                               seed_argument, stop_on_ctrl_c, tqdm_progress)
from studio.config import REFINE_MODES


def register(commands) -> None:
    parser = commands.add_parser("refine", help="Stage 4: upscale scenes with randomized blending")
    parser.add_argument("project", type=Path, help="project folder")
    parser.add_argument("--scene", default=None, help="only this scene")
    parser.add_argument("--mode", choices=REFINE_MODES, default=None, help="default: the preset's")
    parser.add_argument("--seed", type=seed_argument, default=None, help="seed of the noise and the cuts")
    parser.add_argument("--strength", type=float, default=None, help="SDEdit strength in (0, 1] (default: the preset's)")
    parser.add_argument("--approved-only", action="store_true",
                        help="only the scenes whose chunks are all approved (see `approve`); says which it skipped")
    add_cluster_options(parser, "the scenes in parallel")
    add_preset_option(parser)
    parser.set_defaults(handler=run_refine)


def run_refine(args: argparse.Namespace) -> int:
    from studio.refine.stage import refine_project

    preset = resolve_preset(args.preset, args.project)
    options = dict(scene_id=args.scene, mode=args.mode, seed=args.seed, strength=args.strength,
                   approved_only=args.approved_only, warn=print_warning)
    with stop_on_ctrl_c() as stop, ExitStack() as on_exit:
        if check_cluster_options(args):  # each scene on the next free Ray worker; the head writes project.json
            from studio.cluster import joined
            from studio.cluster.jobs import refine_project_on_cluster

            cluster = on_exit.enter_context(joined(args.cluster, args.workers))
            results = refine_project_on_cluster(cluster, args.project, preset, stop=stop, **options)
        else:
            results = refine_project(args.project, preset, stop=stop, progress=tqdm_progress("refine"), **options)
        for result in results:
            print(f"{result.scene_id}: {result.path} ({result.num_frames} frames, {result.width}x{result.height}, "
                  f"seam score draft {result.seam_score_draft:.3f} -> refined {result.seam_score_refined:.3f})")
    return 0


def print_warning(line: str) -> None:
    """A scene skipped or refined although not approved: one line on stderr, the results stay on stdout."""
    print(f"warning: {line}", file=sys.stderr)
