"""The command line: `python -m studio <command>`, over the same functions as the UI.

Each command parses its arguments, loads the preset, calls one stage function and prints a short
summary. A StudioError is printed as one line and exits with code 2; Ctrl-C asks the running stage
to stop after the current denoising step, keeping every finished chunk.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from studio.errors import StudioError

logger = logging.getLogger("studio")


def _add_preset(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default=None, help="preset name (tiny, animatic, gpu, zerogpu) or a .yaml path; "
                        "default: the project's preset, else animatic")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m studio", description="StreamStudio: one prompt to a long, multi-scene video.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what each stage does")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    plan = commands.add_parser("plan", help="Stage 1: write a multi-scene script from one prompt")
    plan.add_argument("prompt", help="what the video is about (at most 2,000 characters)")
    plan.add_argument("--planner", choices=("rules", "local", "remote"), default=None, help="default: the preset's")
    plan.add_argument("--scenes", type=int, default=None, help="number of scenes (default: one per event)")
    plan.add_argument("--project", required=True, type=Path, help="project folder to create or overwrite")
    _add_preset(plan)

    refs = commands.add_parser("refs", help="Stage 2: make entity reference images and scene images")
    refs.add_argument("project", type=Path, help="project folder")
    refs.add_argument("--entity", default=None, help="regenerate only this entity's reference")
    refs.add_argument("--seed", type=int, default=None, help="seed for the regenerated reference")
    refs.add_argument("--approve", action="store_true",
                      help="approve the references as they are made (scene images use approved references only)")
    _add_preset(refs)

    generate = commands.add_parser("generate", help="Stage 3: make the scenes chunk by chunk (resumes)")
    generate.add_argument("project", type=Path, help="project folder")
    generate.add_argument("--scene", default=None, help="only this scene")
    generate.add_argument("--chunks", type=int, default=None, help="number of chunks per scene (default: the script's)")
    _add_preset(generate)

    regenerate = commands.add_parser("regenerate", help="Stage 3: make one chunk again; later chunks become stale")
    regenerate.add_argument("project", type=Path, help="project folder")
    regenerate.add_argument("--scene", required=True, help="scene id")
    regenerate.add_argument("--chunk", required=True, type=int, help="chunk index (0 is the first)")
    regenerate.add_argument("--seed", type=int, default=None, help="new seed (default: the recorded one)")
    regenerate.add_argument("--prompt", default=None, help="new prompt for this chunk")
    _add_preset(regenerate)

    refine = commands.add_parser("refine", help="Stage 4: upscale scenes with randomized blending")
    refine.add_argument("project", type=Path, help="project folder")
    refine.add_argument("--scene", default=None, help="only this scene")
    refine.add_argument("--mode", choices=("randomized", "shared-noise", "naive"), default=None, help="default: the preset's")
    refine.add_argument("--seed", type=int, default=None, help="seed of the noise and the cuts")
    refine.add_argument("--strength", type=float, default=None, help="SDEdit strength in (0, 1] (default: the preset's)")
    _add_preset(refine)

    export = commands.add_parser("export", help="Stage 5: assemble the final mp4 and the project archive")
    export.add_argument("project", type=Path, help="project folder")
    export.add_argument("-o", "--output", type=Path, default=None, help="final video path (default: PROJECT/final.mp4)")
    export.add_argument("--archive", type=Path, default=None, help="also write a .zip of the project here")
    _add_preset(export)

    run = commands.add_parser("run", help="all stages: prompt to final mp4")
    run.add_argument("prompt", help="what the video is about")
    run.add_argument("-o", "--output", type=Path, required=True, help="final video path")
    run.add_argument("--project", type=Path, default=None, help="project folder (default: beside the output)")
    run.add_argument("--planner", choices=("rules", "local", "remote"), default=None)
    run.add_argument("--scenes", type=int, default=None)
    run.add_argument("--chunks", type=int, default=None)
    run.add_argument("--no-refine", action="store_true", help="skip stage 4")
    _add_preset(run)

    evaluate = commands.add_parser("eval", help="metrics of a video: MAWE, SCuts, CLIP score, seam score")
    evaluate.add_argument("video", type=Path)
    evaluate.add_argument("--prompt", default=None, help="text for the CLIP score")
    evaluate.add_argument("--json", action="store_true", help="print JSON")
    evaluate.add_argument("--plots", type=Path, default=None, help="folder for the plots and the X-T slice")
    _add_preset(evaluate)

    bench = commands.add_parser("bench", help="performance figures of the streaming loop and the refiner")
    bench.add_argument("--json", action="store_true", help="print JSON")
    bench.add_argument("--baseline", action="store_true", help="also run the naive way (fp32, eager, unbatched guidance)")
    bench.add_argument("--chunks", type=int, nargs="+", default=None, help="chunk counts (default: the preset's)")
    bench.add_argument("--steps", type=int, default=None, help="denoising steps per chunk (default: the preset's)")
    _add_preset(bench)
    return parser


# ----------------------------------------------------------------------------- helpers


def resolve_preset(name: str | None, project_dir: Path | None = None):
    from studio.config import load_preset

    if name is None and project_dir is not None and (Path(project_dir) / "project.json").is_file():
        from studio.project import load_project

        name = load_project(project_dir).preset
    return load_preset(name or "animatic")


@contextmanager
def stop_on_ctrl_c() -> Iterator[threading.Event]:
    """The first Ctrl-C sets the stop flag (the stage stops after the current step, keeping finished work)."""
    stop = threading.Event()
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print("stopping after the current step (Ctrl-C again to abort)...", file=sys.stderr)

    in_main = threading.current_thread() is threading.main_thread()
    if in_main:
        signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        if in_main:
            signal.signal(signal.SIGINT, previous)


def tqdm_progress(desc: str) -> Callable[[float, str], None]:
    """A progress callback (fraction in [0, 1], message) drawn as a tqdm bar on stderr."""
    from tqdm import tqdm

    bar = tqdm(total=1000, desc=desc, leave=False, file=sys.stderr, disable=not sys.stderr.isatty())

    def update(fraction: float, message: str = "") -> None:
        bar.n = int(max(0.0, min(1.0, fraction)) * 1000)
        if message:
            bar.set_postfix_str(message[:60], refresh=False)
        bar.refresh()
        if fraction >= 1.0:
            bar.close()
    return update


# ----------------------------------------------------------------------------- commands


def cmd_plan(args: argparse.Namespace) -> int:
    from studio.stages import plan_project

    preset = resolve_preset(args.preset)
    project = plan_project(args.project, args.prompt, preset, planner=args.planner, num_scenes=args.scenes)
    script = project.script
    print(f"wrote {args.project / 'project.json'}: {len(script.scenes)} scenes, {len(script.entities)} entities")
    for scene in script.scenes:
        names = ", ".join(script.entity(e).name for e in scene.entity_ids) or "-"
        print(f"  {scene.id}: {scene.event} | {names} | {scene.background or '-'} | {scene.camera} | {scene.n_chunks} chunks")
    return 0


def cmd_refs(args: argparse.Namespace) -> int:
    from studio.references import make_references

    preset = resolve_preset(args.preset, args.project)
    project = make_references(args.project, preset, entity_id=args.entity, seed=args.seed, approve=args.approve,
                               progress=tqdm_progress("refs"))
    made = sum(1 for e in project.script.entities if e.ref_image) + sum(1 for s in project.script.scenes if s.scene_image)
    pending = [e.id for e in project.script.entities if e.status == "pending"]
    print(f"{made} reference and scene images in {args.project}")
    if pending:
        print(f"pending approval: {', '.join(pending)} (approve in the References tab, or run refs --approve)")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from studio.stages import generate_project

    preset = resolve_preset(args.preset, args.project)
    with stop_on_ctrl_c() as stop:
        for event in generate_project(args.project, preset, scene_id=args.scene, num_chunks=args.chunks, stop=stop):
            print(f"{event.scene_id} chunk {event.index}: {event.num_frames} frames in {event.seconds:.1f} s -> {event.preview_path}")
        if stop.is_set():
            print("stopped; finished chunks are kept (run generate again to resume)")
            return 130
    return 0


def cmd_regenerate(args: argparse.Namespace) -> int:
    from studio.streaming.generate import regenerate_chunk

    preset = resolve_preset(args.preset, args.project)
    with stop_on_ctrl_c() as stop:
        event = regenerate_chunk(args.project, preset, args.scene, args.chunk, seed=args.seed, prompt=args.prompt, stop=stop)
    print(f"{event.scene_id} chunk {event.index} remade with seed {event.seed}; later chunks are stale: {event.stale}")
    return 0


def cmd_refine(args: argparse.Namespace) -> int:
    from studio.stages import refine_project

    preset = resolve_preset(args.preset, args.project)
    with stop_on_ctrl_c() as stop:
        for result in refine_project(args.project, preset, scene_id=args.scene, mode=args.mode, seed=args.seed,
                                     strength=args.strength, stop=stop, progress=tqdm_progress("refine")):
            print(f"{result.scene_id}: {result.path} ({result.num_frames} frames, {result.width}x{result.height}, "
                  f"seam score draft {result.seam_score_draft:.3f} -> refined {result.seam_score_refined:.3f})")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from studio.export import export_project

    preset = resolve_preset(args.preset, args.project)
    result = export_project(args.project, preset, output=args.output, archive=args.archive)
    print(f"wrote {result.video} ({result.num_frames} frames, {result.seconds:.1f} s)")
    if result.archive:
        print(f"wrote {result.archive}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from studio.stages import run_all

    preset = resolve_preset(args.preset)
    project_dir = args.project or args.output.with_suffix("").with_name(args.output.stem + "_project")
    with stop_on_ctrl_c() as stop:
        final = run_all(args.prompt, project_dir, preset, output=args.output, planner=args.planner,
                        num_scenes=args.scenes, num_chunks=args.chunks, refine=not args.no_refine, stop=stop,
                        log=lambda line: print(line))
    print(f"wrote {final}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from studio.metrics import evaluate_video, format_report

    preset = resolve_preset(args.preset) if args.preset else None
    report = evaluate_video(args.video, prompt=args.prompt, preset=preset, plots_dir=args.plots)
    print(json.dumps(report, indent=2, default=str) if args.json else format_report(report))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from studio.bench import format_bench, run_bench

    preset = resolve_preset(args.preset or "tiny")
    report = run_bench(preset, chunk_counts=args.chunks, steps=args.steps, baseline=args.baseline)
    print(json.dumps(report, indent=2) if args.json else format_bench(report))
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "plan": cmd_plan, "refs": cmd_refs, "generate": cmd_generate, "regenerate": cmd_regenerate,
    "refine": cmd_refine, "export": cmd_export, "run": cmd_run, "eval": cmd_eval, "bench": cmd_bench,
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return COMMANDS[args.command](args)
    except StudioError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as error:
        if error.name and error.name.startswith("studio."):
            print(f"error: `{args.command}` is not available yet in this version ({error.name} is missing)", file=sys.stderr)
            return 2
        raise
    except KeyboardInterrupt:
        print("aborted", file=sys.stderr)
        return 130
    except OSError as error:
        # A path that is a file, a folder we may not write, a full disk: the user's to fix, in one line.
        where = f" ({str(error.filename)!r})" if error.filename else ""
        print(f"error: {error.strerror or error}{where}; check the paths given and try again", file=sys.stderr)
        return 2
