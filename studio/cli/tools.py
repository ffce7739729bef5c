"""`run` (all five stages), `eval` (metrics of any video) and `bench` (performance figures)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from studio.cli.common import add_preset_option, resolve_preset, stop_on_ctrl_c
from studio.config import PLANNERS


def register(commands) -> None:
    parser = commands.add_parser("run", help="all stages: prompt to final mp4")
    parser.add_argument("prompt", help="what the video is about")
    parser.add_argument("-o", "--output", type=Path, required=True, help="final video path")
    parser.add_argument("--project", type=Path, default=None, help="project folder (default: beside the output)")
    parser.add_argument("--planner", choices=PLANNERS, default=None)
    parser.add_argument("--scenes", type=int, default=None)
    parser.add_argument("--chunks", type=int, default=None)
    parser.add_argument("--no-refine", action="store_true", help="skip stage 4")
    add_preset_option(parser)
    parser.set_defaults(handler=run_all_stages)

    parser = commands.add_parser("eval", help="metrics of a video: MAWE, SCuts, CLIP score, seam score")
    parser.add_argument("video", type=Path)
    parser.add_argument("--prompt", default=None, help="text for the CLIP score")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--plots", type=Path, default=None, help="folder for the plots and the X-T slice")
    add_preset_option(parser)
    parser.set_defaults(handler=run_eval)

    parser = commands.add_parser("bench", help="performance figures of the streaming loop and the refiner")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--baseline", action="store_true", help="also run the naive way (fp32, eager, unbatched guidance)")
    parser.add_argument("--chunks", type=int, nargs="+", default=None, help="chunk counts (default: the preset's)")
    parser.add_argument("--steps", type=int, default=None, help="denoising steps per chunk (default: the preset's)")
    parser.add_argument("--cluster-workers", type=int, default=None, metavar="N",
                        help="instead: scenes per minute on Ray with 1 worker, then N (--chunks: chunks per scene, default 2)")
    parser.add_argument("--cluster", default="local", help="with --cluster-workers: local, auto or ray://HOST:PORT")
    add_preset_option(parser)
    parser.set_defaults(handler=run_bench)


def run_all_stages(args: argparse.Namespace) -> int:
    from studio.run import run_all

    preset = resolve_preset(args.preset, planner=args.planner)
    project_dir = args.project or args.output.with_suffix("").with_name(args.output.stem + "_project")
    with stop_on_ctrl_c() as stop:
        final = run_all(args.prompt, project_dir, preset, output=args.output, planner=args.planner,
                        num_scenes=args.scenes, num_chunks=args.chunks, refine=not args.no_refine, stop=stop,
                        log=lambda line: print(line))
    print(f"wrote {final}")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from studio.metrics import evaluate_video, format_report

    preset = resolve_preset(args.preset) if args.preset else None
    if preset is None:  # the animatic's CLIP: offline like the animatic itself
        from studio.config import load_preset
        from studio.offline import go_offline

        go_offline(load_preset("animatic"))
    report = evaluate_video(args.video, prompt=args.prompt, preset=preset, plots_dir=args.plots)
    print(json.dumps(report, indent=2, default=str) if args.json else format_report(report))
    return 0


def run_bench(args: argparse.Namespace) -> int:
    from studio.bench import format_bench
    from studio.bench import run_bench as bench

    preset = resolve_preset(args.preset or "tiny")
    if args.cluster_workers is not None:  # Ray is imported only here
        from studio.bench_cluster import format_cluster_bench, run_cluster_bench

        if args.chunks is not None and len(args.chunks) != 1:
            from studio.errors import StudioError

            raise StudioError("with --cluster-workers, --chunks takes one number: the chunks of each scene")
        report = run_cluster_bench(preset, workers=args.cluster_workers, num_chunks=(args.chunks or [2])[0],
                                   steps=args.steps, spec=args.cluster)
        print(json.dumps(report, indent=2) if args.json else format_cluster_bench(report))
        return 0
    if preset.models.family == "ltx":  # its own figures (studio/generate/ltx/bench.py)
        from studio.generate.ltx.bench import format_ltx_bench, run_ltx_bench

        bench, format_bench = run_ltx_bench, format_ltx_bench
    report = bench(preset, chunk_counts=args.chunks, steps=args.steps, baseline=args.baseline)
    print(json.dumps(report, indent=2) if args.json else format_bench(report))
    return 0
