"""The Python side of the prepared GPU check (scripts/gpu_check.sh OUT_DIR).

    python -m studio.gpu_check install --wheels .whl --target OUT/site-packages   # resolved, torch kept
    python -m studio.gpu_check env                  # versions and the CUDA device, as JSON
    python -m studio.gpu_check smoke OUT            # one tiny chunk and its mp4, on the CPU
    python -m studio.gpu_check has-cuda             # exit 0 with a CUDA device, 3 without
    python -m studio.gpu_check summary OUT          # bench_50.json + bench_25.json -> the README table

The GPU machine's Python has torch and transformers but not diffusers and no network, so the check
brings wheels (scripts/gpu_wheels.txt, downloaded by scripts/gpu_wheels.sh) and installs, without
network and into OUT_DIR (never over the machine's own packages), what pip's resolver says this machine needs:
the wheel set with its dependencies, resolved against the packages already here, torch and transformers held
at the machine's versions. Standard
library only at import: this runs before anything is installed.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

from studio.errors import StudioError

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "scripts" / "gpu_wheels.txt"
NO_CUDA_EXIT = 3


# ----------------------------------------------------------------------------- installing


def read_requirements(path: Path = REQUIREMENTS) -> list[str]:
    """The `name==version` lines of the wheel list."""
    lines = (line.split("#")[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


# The machine's own packages that the check must never replace (the CUDA build of torch, and the transformers
# it was tested with): pip resolves against them as they are, or fails.
HELD = ("torch", "transformers")


def held_constraints() -> list[str]:
    """`name==version` of every HELD package installed here."""
    held = []
    for name in HELD:
        try:
            held.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    return held


def _installed(name: str) -> bool:
    try:
        importlib.metadata.version(name)
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


def _pip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True)


def resolve(wheels: Path, requirements: list[str], work: Path) -> list[str]:
    """What pip's resolver would install for `requirements` from `wheels` (no network) on top of this machine's
    packages, the HELD ones fixed at their versions: `name==version`, dependencies included."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "requirements.txt").write_text("\n".join(requirements) + "\n", encoding="utf-8")
    (work / "held.txt").write_text("\n".join(held_constraints()) + "\n", encoding="utf-8")
    report = work / "resolution.json"
    result = _pip("install", "--dry-run", "--quiet", "--no-index", "--find-links", str(wheels), "--report", str(report),
                  "-c", str(work / "held.txt"), "-r", str(work / "requirements.txt"))
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise StudioError(f"the wheel set in {wheels} does not resolve on this machine ({last}); the machine keeps "
                          f"{', '.join(held_constraints()) or 'its own torch'}: run scripts/gpu_wheels.sh again")
    items = json.loads(report.read_text(encoding="utf-8")).get("install", [])
    return [f"{item['metadata']['name']}=={item['metadata']['version']}" for item in items]


def install_resolved(wheels: Path, target: Path, requirements: list[str] | None = None) -> list[str]:
    """Install what `resolve` found into `target` (never over the machine's packages); returns it."""
    requirements = read_requirements() if requirements is None else requirements
    if importlib.util.find_spec("pip") is None:
        raise StudioError("this Python has no pip, which the check needs to resolve the wheel set: "
                          f"run `{sys.executable} -m ensurepip` first")
    work = target.parent / "pip-resolution"
    if not wheels.is_dir():  # fine when this machine already has every package (the env step lists their versions)
        absent = [r for r in requirements if not _installed(r.split("==")[0])]
        if absent:
            raise StudioError(f"{wheels} does not exist: run scripts/gpu_wheels.sh on a machine with network first, "
                              f"then bring {wheels} with the check (missing here: {', '.join(absent)})")
        return []
    target.mkdir(parents=True, exist_ok=True)
    wanted = resolve(wheels, requirements, work)
    if not wanted:
        return []
    result = _pip("install", "--quiet", "--no-index", "--find-links", str(wheels), "--no-deps", "--target", str(target),
                  *wanted)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise StudioError(f"installing {', '.join(wanted)} from {wheels} failed: {last} "
                          f"(run scripts/gpu_wheels.sh again for this Python {sys.version_info.major}.{sys.version_info.minor})")
    return wanted


# ----------------------------------------------------------------------------- the machine


def environment() -> dict:
    """Versions of what the check runs on, and the CUDA device (None without one)."""
    import torch

    versions = {}
    for name in ("torch", "transformers", "diffusers", "huggingface_hub", "numpy", "pillow", "imageio-ffmpeg"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    cuda = torch.cuda.is_available()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
        "python": sys.version.split()[0],
        "versions": versions,
        "cuda_device": torch.cuda.get_device_name(0) if cuda else None,
        "cuda_memory_gb": round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1) if cuda else None,
    }


def smoke(out_dir: Path) -> dict:
    """One tiny chunk at 2 steps on the CPU and its mp4: the installed stack (diffusers, the machine's
    torch and transformers, ffmpeg) works together."""
    import time

    import numpy as np

    from studio.config import load_preset
    from studio.generate.sampler import StreamingPipeline
    from studio.media.video import read_video, write_mp4

    preset = load_preset("tiny")
    s = preset.streaming
    context = np.random.default_rng(0).integers(0, 256, (s.context_frames, s.height, s.width, 3), dtype=np.uint8)
    started = time.perf_counter()
    frames = StreamingPipeline(preset).make_chunk("a fox", context, context[-1], seed=0, steps=2)  # (8, H, W, 3)
    seconds = time.perf_counter() - started
    video, _ = read_video(write_mp4(frames, out_dir / "smoke_tiny.mp4", fps=s.fps))
    if frames.shape != (s.frames_per_chunk - s.context_frames, s.height, s.width, 3) or video.shape != frames.shape:
        raise StudioError(f"the tiny chunk came out {frames.shape}, its mp4 {video.shape}: the installed stack is broken")
    return {"frames": list(frames.shape), "seconds": round(seconds, 3), "mp4": str(out_dir / "smoke_tiny.mp4")}


# ----------------------------------------------------------------------------- the table


def summary_table(bench_50: dict, bench_25: dict | None, env: dict) -> str:
    """The README's performance table from the two bench reports (50 steps in full; 25 steps)."""
    peaks = bench_50.get("peak_cuda_mb_by_chunks") or bench_50["peak_rss_mb_by_chunks"]
    baseline = bench_50.get("baseline", {})
    rows = [
        ("seconds per chunk, 50 steps", _per_chunk(bench_50)),
        ("seconds per chunk, 25 steps", _per_chunk(bench_25) if bench_25 else "not run"),
        ("first chunk, 50 steps / 25 steps (s)",
         f"{bench_50['first_chunk_seconds']:.3f} / {bench_50['first_chunk_seconds_at_25_steps']:.3f}"),
        ("peak memory by chunks (MB)", ", ".join(f"{count}: {mb:.0f}" for count, mb in peaks.items())),
        ("memory growth first to last", f"{bench_50['memory_growth_first_to_last']:+.1%}"),
        ("baseline (fp32, eager, unbatched, no reuse), 50 steps",
         f"{baseline['seconds_per_chunk']:.3f} s/chunk, x{baseline['speedup']:.2f}" if baseline else "not run"),
        ("achieved TFLOP/s, 50 steps", f"{bench_50['achieved_tflops']:.2f} ({bench_50['flops_per_chunk'] / 1e12:.1f} TFLOP per chunk)"),
    ]
    reused = bench_50.get("reused_work")
    if reused:
        rows.append(("step-invariant work once per chunk (s/chunk)",
                     f"{reused['seconds_per_chunk_before']:.3f} -> {reused['seconds_per_chunk_after']:.3f} (x{reused['speedup']:.2f})"))
        for label in ("before", "after"):
            rows.append((f"parts per chunk, {label}", ", ".join(f"{p} {s:.3f}" for p, s in reused[label].items())))
    device = env.get("cuda_device") or bench_50.get("device")
    lines = [f"Measured {env.get('date', '?')} on {device} (torch {env.get('versions', {}).get('torch')}, "
             f"{bench_50['dtype']}, {bench_50['scheduler']}, {bench_50['frame_size'][1]}x{bench_50['frame_size'][0]}, "
             f"preset {bench_50['preset']}):", "", "| figure | value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines) + "\n"


def _per_chunk(report: dict) -> str:
    return ", ".join(f"{count} chunks: {seconds:.3f}" for count, seconds in report["seconds_per_chunk_by_chunks"].items())


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# ----------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studio.gpu_check")
    commands = parser.add_subparsers(dest="command", required=True)
    install = commands.add_parser("install")
    install.add_argument("--wheels", type=Path, default=ROOT / ".whl")
    install.add_argument("--target", type=Path, required=True)
    commands.add_parser("env")
    commands.add_parser("has-cuda")
    smoke_parser = commands.add_parser("smoke")
    smoke_parser.add_argument("out_dir", type=Path)
    summary = commands.add_parser("summary")
    summary.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except StudioError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if args.command == "install":
        installed = install_resolved(args.wheels, args.target)
        print(f"installed into {args.target}: {', '.join(installed)}" if installed else "nothing to install")
        print(f"kept from this machine: {', '.join(held_constraints()) or 'no torch or transformers'}")
        return 0
    if args.command == "env":
        print(json.dumps(environment(), indent=2))
        return 0
    if args.command == "smoke":
        print(json.dumps(smoke(args.out_dir)))
        return 0
    if args.command == "has-cuda":
        device = environment()["cuda_device"]
        print(f"CUDA device: {device}" if device else "no CUDA device is present")
        return 0 if device else NO_CUDA_EXIT
    bench_50 = _read_json(args.out_dir / "bench_50.json")
    if bench_50 is None:
        raise StudioError(f"{args.out_dir / 'bench_50.json'} is missing or not JSON: see {args.out_dir / 'gpu_check.log'}")
    env = _read_json(args.out_dir / "env.json") or {}
    print(summary_table(bench_50, _read_json(args.out_dir / "bench_25.json"), env), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
