"""`generate` and `regenerate`: stage 3, the scenes chunk by chunk, and one chunk again."""

from __future__ import annotations

import argparse
from pathlib import Path

from studio.cli.common import (add_cluster_options, add_preset_option, check_cluster_options, resolve_preset,
                               seed_argument, stop_on_ctrl_c)


def register(commands) -> None:
    parser = commands.add_parser("generate", help="Stage 3: make the scenes chunk by chunk (resumes)")
    parser.add_argument("project", type=Path, help="project folder")
    parser.add_argument("--scene", default=None, help="only this scene")
    parser.add_argument("--chunks", type=int, default=None, help="number of chunks per scene (default: the script's)")
    add_cluster_options(parser, "scenes in parallel")
    add_preset_option(parser)
    parser.set_defaults(handler=run_generate)

    parser = commands.add_parser("regenerate", help="Stage 3: make one chunk again; later chunks become stale")
    parser.add_argument("project", type=Path, help="project folder")
    parser.add_argument("--scene", required=True, help="scene id")
    parser.add_argument("--chunk", required=True, type=int, help="chunk index (0 is the first)")
    parser.add_argument("--seed", type=seed_argument, default=None, help="new seed (default: the recorded one)")
    parser.add_argument("--prompt", default=None, help="new prompt for this chunk")
    parser.add_argument("--keep-later", action="store_true",
                        help="keep the later chunks ready and heal the seam with the next chunk (the old version stays a take)")
    add_cluster_options(parser, "the chunk")
    add_preset_option(parser)
    parser.set_defaults(handler=run_regenerate)


def run_generate(args: argparse.Namespace) -> int:
    from studio.generate.stage import generate_project

    preset = resolve_preset(args.preset, args.project)
    if check_cluster_options(args):  # Ray is imported only here, when a cluster is asked for
        from studio.cluster import on_cluster

        generate_project = on_cluster(args.cluster, args.workers)
    from studio.project.model import load_project
    from studio.project.staleness import anchor_note

    announced = set()
    with stop_on_ctrl_c() as stop:
        for event in generate_project(args.project, preset, scene_id=args.scene, num_chunks=args.chunks, stop=stop):
            if event.scene_id not in announced:  # which anchor holds the scene: never a silent fallback
                announced.add(event.scene_id)
                project = load_project(args.project)
                print(f"{event.scene_id}: {anchor_note(project, args.project, project.script.scene(event.scene_id))}")
            print(f"{event.scene_id} chunk {event.index}: {event.num_frames} frames in {event.seconds:.1f} s -> {event.preview_path}")
        if stop.is_set():
            print("stopped; finished chunks are kept (run generate again to resume)")
            return 130
    return 0


def run_regenerate(args: argparse.Namespace) -> int:
    from studio.generate.stage import regenerate_chunk

    from studio.errors import StudioError
    from studio.project.model import load_project
    from studio.project.staleness import anchor_note

    preset = resolve_preset(args.preset, args.project)
    options = dict(seed=args.seed, prompt=args.prompt)
    project = load_project(args.project)
    print(f"{args.scene}: {anchor_note(project, args.project, project.script.scene(args.scene))}")
    with stop_on_ctrl_c() as stop:
        if check_cluster_options(args):  # on a free Ray worker; the head writes project.json
            if args.keep_later:
                raise StudioError("--keep-later runs on this machine only; leave out --cluster to keep the later chunks")
            from studio.cluster import joined
            from studio.cluster.jobs import regenerate_chunk_on_cluster

            with joined(args.cluster, args.workers) as cluster:
                event = regenerate_chunk_on_cluster(cluster, args.project, preset, args.scene, args.chunk, stop=stop,
                                                    **options)
        else:
            event = regenerate_chunk(args.project, preset, args.scene, args.chunk, stop=stop, keep_later=args.keep_later,
                                     **options)
    print(f"{event.scene_id} chunk {event.index} remade with seed {event.seed} as take {event.take}; "
          f"later chunks are stale: {event.stale}")
    if event.seam is not None:
        print(f"seam with chunk {event.index + 1} healed ({event.seam.method}): score {event.seam.score_before:.3f} "
              f"-> {event.seam.score_after:.3f} (lower is smoother)")
    elif args.keep_later:
        print("later chunks kept as they were (no ready chunk after it, or nothing changed)")
    return 0
