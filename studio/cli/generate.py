"""`generate` and `regenerate`: stage 3, the scenes chunk by chunk, and chunks again (one or several in one job)."""

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

    parser = commands.add_parser("regenerate", help="Stage 3: make chunks again; the chunks after each become stale")
    parser.add_argument("project", type=Path, help="project folder")
    parser.add_argument("--scene", default=None, help="scene id of the chunks given as K")
    parser.add_argument("--chunk", required=True, action="append", metavar="K|SCENE:K|SCENE:K:SEED",
                        help="chunk index (0 is the first), with --scene; or SCENE:K, or SCENE:K:SEED with its own "
                             "seed; repeat it for several chunks, made one after the other in one job")
    parser.add_argument("--seed", type=seed_argument, default=None,
                        help="new seed of every chunk without its own (default: each chunk's recorded one)")
    parser.add_argument("--prompt", default=None, help="new prompt for every chunk given")
    parser.add_argument("--keep-later", action="store_true",
                        help="keep the later chunks ready and heal the seam with the next chunk (the old version stays a take)")
    add_cluster_options(parser, "each chunk in turn")
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
    from functools import partial

    from studio.errors import StudioError
    from studio.generate.batch import regenerate_chunks
    from studio.project.model import load_project
    from studio.project.staleness import anchor_note

    requests = chunk_requests(args.chunk, args.scene, args.seed, args.prompt, args.keep_later)  # before any loading
    preset = resolve_preset(args.preset, args.project)
    project = load_project(args.project)
    for scene_id in dict.fromkeys(request.scene_id for request in requests):  # which anchor holds each scene
        if any(scene.id == scene_id for scene in project.script.scenes):
            print(f"{scene_id}: {anchor_note(project, args.project, project.script.scene(scene_id))}")

    def report(position: int, total: int, event) -> None:
        print(f"{event.scene_id} chunk {event.index} remade with seed {event.seed} as take {event.take}; "
              f"later chunks are stale: {event.stale}")
        if event.seam is not None:
            print(f"seam with chunk {event.index + 1} healed ({event.seam.method}): score "
                  f"{event.seam.score_before:.3f} -> {event.seam.score_after:.3f} (lower is smoother)")
        elif args.keep_later:
            print("later chunks kept as they were (no ready chunk after it, or nothing changed)")

    with stop_on_ctrl_c() as stop:
        if check_cluster_options(args):  # each chunk in turn on a free Ray worker; the head writes project.json
            if args.keep_later:
                raise StudioError("--keep-later runs on this machine only; leave out --cluster to keep the later chunks")
            from studio.cluster import joined
            from studio.cluster.jobs import regenerate_chunk_on_cluster

            with joined(args.cluster, args.workers) as cluster:
                result = regenerate_chunks(args.project, preset, requests, stop=stop, on_event=report,
                                           regenerate=partial(regenerate_chunk_on_cluster, cluster))
        else:
            result = regenerate_chunks(args.project, preset, requests, stop=stop, on_event=report)
    if result.stopped:
        left = ", ".join(f"{r.scene_id}:{r.chunk_index}" for r in result.remaining)
        print(f"stopped; {len(result.done)} of {len(result.done) + len(result.remaining)} chunks remade and kept "
              f"(not remade: {left})")
        return 130
    return 0


def chunk_requests(chunks: list[str], scene_id: str | None, seed: int | None, prompt: str | None,
                   keep_later: bool = False) -> list:
    """The RegenerateRequest of each --chunk (K with --scene, SCENE:K or SCENE:K:SEED); --seed is the default seed."""
    from studio.errors import StudioError
    from studio.generate.batch import RegenerateRequest

    requests = []
    for text in chunks:
        parts = text.split(":")
        if len(parts) == 1 and scene_id is None:
            raise StudioError(f"--chunk {text[:40]!r} names no scene: add --scene ID, or write it SCENE:K")
        if len(parts) > 3 or (len(parts) > 1 and not parts[0]):
            raise StudioError(f"--chunk {text[:40]!r} must be K (with --scene), SCENE:K or SCENE:K:SEED")
        scene, index_text = (scene_id, parts[0]) if len(parts) == 1 else (parts[0], parts[1])
        if scene_id is not None and scene != scene_id:
            raise StudioError(f"--chunk {text[:40]!r} names scene {scene[:40]!r}, which contradicts --scene {scene_id[:40]}; "
                              f"drop --scene, or write the chunk as K")
        own_seed = seed
        if len(parts) == 3:
            try:
                own_seed = seed_argument(parts[2])
            except argparse.ArgumentTypeError as error:
                raise StudioError(f"--chunk {text[:40]!r}: the seed {error}") from None
        requests.append(RegenerateRequest(scene, _chunk_index(index_text, text), seed=own_seed, prompt=prompt,
                                          keep_later=keep_later))
    return requests


def _chunk_index(index_text: str, text: str) -> int:
    from studio.errors import StudioError

    try:
        return int(index_text)
    except ValueError:
        raise StudioError(f"--chunk {text[:40]!r}: the chunk index {index_text[:40]!r} is not a whole number "
                          "(0 is the first chunk)") from None
