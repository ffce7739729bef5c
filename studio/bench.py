"""`python -m studio bench`: performance figures of the streaming loop and the refiner, measured honestly.

What it runs is what a creator runs: `generate_scene` on a real project folder (chunk files, previews,
the draft and project.json written after every chunk), at several lengths, then `refine_scene` on the
longest scene. What it reports:

- seconds_per_chunk_by_chunks: wall time per chunk, files included, for each length (should be flat)
- peak_rss_mb_by_chunks (and peak_cuda_mb_by_chunks on a GPU): the peak during each length (should be
  flat: finished chunks live on disk). RSS peaks are reset per length through /proc/self/clear_refs.
- first_chunk_seconds / first_chunk_seconds_at_25_steps: from the call to the first streamed chunk
- model_time_fraction: the share of the chunk time spent inside model calls (UNet+CAM, VAE decode,
  text and image encoders), the rest being scheduler, noise, conversion and file work
- part_seconds_per_chunk: a chunk's time by part (text, apm, cam, unet, vae; scheduler = steps, noise,
  conversions; files = the memory read from disk and the chunk's files written; other = the rest),
  measured through the timing hook (studio.generate.timing)
- reused_work: the same parts with `streaming.reuse_chunk_work` off (the step-invariant work redone at
  every step, all frames decoded) and on, at the shortest length, in the same run
- flops_per_chunk (torch.utils.flop_counter, on the real configuration) and achieved TFLOP/s
- animatic: seconds to draw one 16-frame animatic chunk (the offline preset), on the CPU
- with `baseline`: the naive way (fp32, eager, two forwards for guidance) on the same architecture in
  the same run, and the speed-up ratio.
"""

from __future__ import annotations

import copy
import logging
import platform
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from studio.config import Preset

logger = logging.getLogger(__name__)

BENCH_PROMPT = "a red fox runs through a snowy pine forest, camera pans right"
# The timing hook's parts that are model calls; "scheduler" (steps, noise, conversions) and "files" are not.
MODEL_PARTS = ("text", "apm", "cam", "unet", "vae")


# ----------------------------------------------------------------------------- measuring


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark for this process (Linux >= 4.0); False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def _peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ----------------------------------------------------------------------------- workloads


def _bench_project(root: Path, preset: Preset, num_chunks: int) -> Path:
    """A one-scene project whose scene image starts chunk 0, so CAM and APM run in every chunk."""
    from PIL import Image

    from studio.project.model import Entity, Project, Scene, Script, save_project

    project_dir = root / f"bench-{num_chunks}"
    image_path = project_dir / "scenes" / "scene-1" / "image.png"
    image_path.parent.mkdir(parents=True)
    s = preset.streaming
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (s.height, s.width, 3), dtype=np.uint8)).save(image_path)
    scene = Scene(id="scene-1", title="bench", event=BENCH_PROMPT, entity_ids=["fox"], camera="pan right",
                  n_chunks=num_chunks, seed=1)  # its scene image: image.png, where paths.py puts it
    script = Script(prompt=BENCH_PROMPT, scenes=[scene], entities=[Entity(id="fox", name="fox", status="approved")])
    save_project(Project(id=f"bench-{num_chunks}", preset=preset.name, script=script), project_dir)
    return project_dir


def _cuda_peak_reset(cuda: bool) -> None:
    if cuda:
        import torch

        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def _cuda_peak_mb(cuda: bool) -> float | None:
    if not cuda:
        return None
    import torch

    torch.cuda.synchronize()
    return round(torch.cuda.max_memory_allocated() / 2**20, 1)


def _stream(project_dir: Path, preset: Preset, num_chunks: int, cuda: bool) -> dict[str, Any]:
    """One streaming run of `num_chunks` chunks; wall time per chunk includes every file it writes."""
    from studio.generate.stage import generate_scene
    from studio.generate.timing import PartTimer, timing_parts

    _reset_peak_rss()
    _cuda_peak_reset(cuda)
    timer = PartTimer(cuda)
    chunk_seconds = []
    with timing_parts(timer):
        started = last = time.perf_counter()
        for _ in generate_scene(project_dir, preset, "scene-1", num_chunks=num_chunks):
            now = time.perf_counter()
            chunk_seconds.append(now - last)
            last = now
    total = time.perf_counter() - started
    return {
        "chunk_seconds": chunk_seconds,
        "total_seconds": total,
        "model_seconds": sum(timer.seconds.get(part, 0.0) for part in MODEL_PARTS),
        "part_seconds": dict(timer.seconds),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "peak_cuda_mb": _cuda_peak_mb(cuda),
    }


def _count_flops(preset: Preset, steps: int) -> float:
    """FLOPs of one chunk at `steps` steps: counted at 1 and 2 steps, then extrapolated linearly
    (a chunk's cost is fixed work — text, image and VAE — plus the same work per step)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from studio.generate.sampler import StreamingPipeline

    pipe = StreamingPipeline(preset)
    s = preset.streaming
    context = np.zeros((s.context_frames, s.height, s.width, 3), np.uint8)
    anchor = np.zeros((s.height, s.width, 3), np.uint8)
    counts = []
    for n in (1, 2):
        counter = FlopCounterMode(display=False)
        with counter, torch.inference_mode():
            pipe.make_chunk(BENCH_PROMPT, context, anchor, seed=0, steps=n)
        counts.append(counter.get_total_flops())
    per_step, fixed = counts[1] - counts[0], 2 * counts[0] - counts[1]
    return float(fixed + per_step * steps)


def _compare_chunk_times(optimised: Preset, naive: Preset, rounds: int, cuda: bool) -> tuple[float, float]:
    """Median seconds per chunk of two presets, made directly (no files), alternating so that a passing
    load on the machine hits both alike; each pipeline is warmed up first (allocator, kernels, compile)."""
    from statistics import median

    from studio.generate.sampler import StreamingPipeline
    from studio.generate.timing import PartTimer

    sync = PartTimer(cuda).sync
    s = optimised.streaming
    context = np.zeros((s.context_frames, s.height, s.width, 3), np.uint8)
    anchor = np.zeros((s.height, s.width, 3), np.uint8)
    pipes = [StreamingPipeline(optimised), StreamingPipeline(naive)]
    for pipe in pipes:
        pipe.make_chunk(BENCH_PROMPT, context, anchor, seed=0)
    times: list[list[float]] = [[], []]
    for round_ in range(rounds):
        for pipe, sink in zip(pipes, times):
            sync()
            started = time.perf_counter()
            pipe.make_chunk(BENCH_PROMPT, context, anchor, seed=round_)
            sync()
            sink.append(time.perf_counter() - started)
    return median(times[0]), median(times[1])


def _bench_animatic(rounds: int = 5) -> dict[str, Any]:
    """Seconds to draw one 16-frame animatic chunk (what the offline preset does instead of a model): the
    median of a few rounds after a warm-up, on a moving camera with a caption."""
    from statistics import median

    from studio.animatic import render_chunk
    from studio.config import load_preset
    from studio.project.model import Scene, Script

    animatic = load_preset("animatic")
    scene = Scene(id="scene-1", title="bench", event=BENCH_PROMPT, background="a city street at night",
                  camera="dolly in", n_chunks=1, seed=0)
    script = Script(prompt=BENCH_PROMPT, scenes=[scene])
    frames = render_chunk(animatic, script, scene, 0, None, None, 0, BENCH_PROMPT)  # warm-up: fonts, caches
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        frames = render_chunk(animatic, script, scene, 0, None, None, 0, BENCH_PROMPT)
        times.append(time.perf_counter() - started)
    return {"frames": int(frames.shape[0]), "size": [int(frames.shape[1]), int(frames.shape[2])],
            "seconds_per_chunk": round(median(times), 4)}


def baseline_preset(preset: Preset) -> Preset:
    """The naive way on the same architecture: fp32, eager, unbatched guidance, every step's work redone."""
    naive = copy.deepcopy(preset)
    naive.models.dtype = "float32"
    naive.streaming.batched_guidance = False
    naive.streaming.compile = False
    naive.streaming.reuse_chunk_work = False
    return naive


# ----------------------------------------------------------------------------- the report


def run_bench(preset: Preset, *, chunk_counts: list[int] | None = None, steps: int | None = None,
              baseline: bool = False) -> dict[str, Any]:
    """Run the benchmark and return the report (a JSON-serialisable dict)."""
    preset, counts = _check_bench(preset, chunk_counts, steps)
    from studio.models.cache import device_for

    cuda = device_for(preset).type == "cuda"
    # 1. Cold start: every model the streaming loop needs, built (or loaded) once.
    report = _describe_setup(preset, cuda)
    with tempfile.TemporaryDirectory(prefix="studio-bench-") as tmp:
        root = Path(tmp)
        # 2. The streaming loop at each length, on real project folders.
        report.update(_bench_lengths(root, preset, counts, cuda))
        report["reused_work"] = _bench_reused_work(root, preset, counts[0], report, cuda)
        # 3. Time to the first streamed chunk at 25 steps (the preview setting), warm.
        fast = copy.deepcopy(preset)
        fast.streaming.steps = 25
        report["first_chunk_seconds_at_25_steps"] = round(
            _stream(_bench_project(root / "fast", fast, 1), fast, 1, cuda)["chunk_seconds"][0], 4)
        # 4. FLOPs on the real configuration and what share of the hardware they got.
        flops = _count_flops(preset, preset.streaming.steps)
        report["flops_per_chunk"] = flops
        report["achieved_tflops"] = round(flops / report["seconds_per_chunk_by_chunks"][str(counts[-1])] / 1e12, 3)
        # 5. The naive way on the same architecture, same run.
        if baseline:
            report["baseline"] = _bench_baseline(preset, cuda)
        # 6. The refiner on the longest scene.
        if preset.bench.refine:
            report["refine"] = _bench_refine(root / f"bench-{counts[-1]}", preset, cuda)
    # 7. The animatic preset's chunk on this machine's CPU (no model: a figure, never a test's assertion).
    report["animatic"] = _bench_animatic()
    return report


def _check_bench(preset: Preset, chunk_counts: list[int] | None, steps: int | None) -> tuple[Preset, list[int]]:
    from studio.errors import StudioError

    if preset.models.backend == "animatic":
        raise StudioError("the animatic preset runs no models; bench with --preset tiny, bench-cpu or bench-gpu")
    preset = copy.deepcopy(preset)
    if steps is not None:
        preset.streaming.steps = steps
    counts = sorted(set(chunk_counts or preset.bench.chunk_counts))
    if not counts or counts[0] < 1 or counts[-1] > preset.streaming.max_chunks:
        raise StudioError(f"chunk counts {counts} must be between 1 and {preset.streaming.max_chunks}")
    return preset, counts


def _describe_setup(preset: Preset, cuda: bool) -> dict[str, Any]:
    """Build every model once (the cold start) and describe the configuration that runs."""
    import torch

    from studio.generate.sampler import StreamingPipeline, build_streaming_model
    from studio.models.cache import device_for, dtype_for, get_component

    started = time.perf_counter()
    model = build_streaming_model(preset)
    StreamingPipeline(preset)
    cold_start = time.perf_counter() - started
    device = device_for(preset)
    return {
        "preset": preset.name,
        "device": torch.cuda.get_device_name(device) if cuda else platform.processor() or platform.machine(),
        "cpu_threads": torch.get_num_threads(),
        "dtype": str(dtype_for(preset)).replace("torch.", ""),
        "steps": preset.streaming.steps,
        "scheduler": preset.streaming.scheduler,
        "frame_size": [preset.streaming.height, preset.streaming.width],
        "frames_per_chunk": preset.streaming.frames_per_chunk,
        "compile": preset.streaming.compile,
        "parameters": {
            "unet": sum(p.numel() for p in model.unet.parameters()),
            "cam": sum(p.numel() for p in model.cam.parameters()),
            "apm_resampler": sum(p.numel() for p in model.resampler.parameters()),
            "image_encoder": sum(p.numel() for p in get_component(preset, "image_encoder").parameters()),
        },
        "cold_start_seconds": round(cold_start, 2),
    }


def _bench_lengths(root: Path, preset: Preset, counts: list[int], cuda: bool) -> dict[str, Any]:
    """Seconds and peak memory per chunk at each length; the time per part of a chunk."""
    warm_dir = _bench_project(root / "warm", preset, 1)
    _stream(warm_dir, preset, 1, cuda)  # warm-up: first-call costs (allocator, kernel selection, compile)
    runs = {count: _stream(_bench_project(root, preset, count), preset, count, cuda) for count in counts}
    report: dict[str, Any] = {
        "seconds_per_chunk_by_chunks": {str(c): round(r["total_seconds"] / c, 4) for c, r in runs.items()},
        "chunk_seconds_by_chunks": {str(c): [round(x, 4) for x in r["chunk_seconds"]] for c, r in runs.items()},
        "peak_rss_mb_by_chunks": {str(c): r["peak_rss_mb"] for c, r in runs.items()},
    }
    if cuda:
        report["peak_cuda_mb_by_chunks"] = {str(c): r["peak_cuda_mb"] for c, r in runs.items()}
    longest = runs[counts[-1]]
    report["first_chunk_seconds"] = round(longest["chunk_seconds"][0], 4)
    total_seconds = sum(r["total_seconds"] for r in runs.values())
    report["model_time_fraction"] = round(sum(r["model_seconds"] for r in runs.values()) / total_seconds, 4)
    # Per part of a chunk, over every length: what the model parts took, and the rest (files, scheduler, conversion).
    chunks = sum(counts)
    parts: dict[str, float] = {}
    for run in runs.values():
        for part, seconds in run["part_seconds"].items():
            parts[part] = parts.get(part, 0.0) + seconds
    parts["other"] = total_seconds - sum(parts.values())
    report["part_seconds_per_chunk"] = {part: round(seconds / chunks, 4) for part, seconds in parts.items()}
    report["part_seconds_per_chunk_by_chunks"] = {str(c): _parts_per_chunk(r, c) for c, r in runs.items()}
    peaks = [r["peak_cuda_mb"] if cuda else r["peak_rss_mb"] for r in runs.values()]
    report["memory_growth_first_to_last"] = round(peaks[-1] / peaks[0] - 1, 4)
    return report


def _parts_per_chunk(run: dict[str, Any], num_chunks: int) -> dict[str, float]:
    parts = dict(run["part_seconds"])
    parts["other"] = run["total_seconds"] - sum(parts.values())
    return {part: round(seconds / num_chunks, 4) for part, seconds in parts.items()}


def _bench_reused_work(root: Path, preset: Preset, num_chunks: int, report: dict[str, Any], cuda: bool) -> dict[str, Any]:
    """The parts of a chunk before (step-invariant work redone at every step, all frames decoded) and
    after (the preset as it runs, measured above) at the same length."""
    before = copy.deepcopy(preset)
    before.streaming.reuse_chunk_work = False
    run = _stream(_bench_project(root / "before", before, num_chunks), before, num_chunks, cuda)
    after_seconds = report["seconds_per_chunk_by_chunks"][str(num_chunks)]
    before_seconds = run["total_seconds"] / num_chunks
    return {
        "chunks": num_chunks,
        "before": _parts_per_chunk(run, num_chunks),
        "after": report["part_seconds_per_chunk_by_chunks"][str(num_chunks)],
        "seconds_per_chunk_before": round(before_seconds, 4),
        "seconds_per_chunk_after": after_seconds,
        "speedup": round(before_seconds / after_seconds, 3),
    }


def _bench_baseline(preset: Preset, cuda: bool) -> dict[str, Any]:
    optimised_seconds, naive_seconds = _compare_chunk_times(preset, baseline_preset(preset), 3, cuda)
    return {
        "dtype": "float32", "batched_guidance": False, "compile": False, "reuse_chunk_work": False,
        "seconds_per_chunk": round(naive_seconds, 4),
        "optimised_seconds_per_chunk": round(optimised_seconds, 4),
        "speedup": round(naive_seconds / optimised_seconds, 3),
    }


def _bench_refine(project_dir: Path, preset: Preset, cuda: bool) -> dict[str, Any]:
    from studio.project.model import load_project
    from studio.refine.stage import refine_scene

    _reset_peak_rss()
    _cuda_peak_reset(cuda)
    started = time.perf_counter()
    result = refine_scene(project_dir, preset, "scene-1")
    seconds = time.perf_counter() - started
    frames = result.num_frames
    load_project(project_dir)  # the project is still readable after the refiner wrote it
    out = {"frames": frames, "size": [result.height, result.width], "seconds": round(seconds, 3),
           "seconds_per_frame": round(seconds / frames, 4), "peak_rss_mb": round(_peak_rss_mb(), 1),
           "seam_score_draft": result.seam_score_draft, "seam_score_refined": result.seam_score_refined}
    if cuda:
        out["peak_cuda_mb"] = _cuda_peak_mb(cuda)
    return out


def format_bench(report: dict[str, Any]) -> str:
    """The report as a few human lines."""
    lines = [f"preset {report['preset']} on {report['device']} ({report['dtype']}, {report['steps']} steps, "
             f"{report['scheduler']}, {report['frame_size'][1]}x{report['frame_size'][0]})"]
    for count, seconds in report["seconds_per_chunk_by_chunks"].items():
        memory = report.get("peak_cuda_mb_by_chunks", report["peak_rss_mb_by_chunks"])[count]
        lines.append(f"  {count:>3} chunks: {seconds:.3f} s/chunk, peak {memory:.0f} MB")
    lines.append(f"  memory growth first->last: {report['memory_growth_first_to_last']:+.1%}")
    lines.append(f"  first chunk: {report['first_chunk_seconds']:.3f} s ({report['first_chunk_seconds_at_25_steps']:.3f} s at 25 steps)")
    lines.append(f"  model time fraction: {report['model_time_fraction']:.1%}; {report['achieved_tflops']:.3f} TFLOP/s "
                 f"({report['flops_per_chunk'] / 1e12:.2f} TFLOP per chunk)")
    parts = ", ".join(f"{part} {seconds:.3f}" for part, seconds in report["part_seconds_per_chunk"].items())
    lines.append(f"  seconds per chunk by part: {parts}")
    if "reused_work" in report:
        r = report["reused_work"]
        lines.append(f"  step-invariant work once per chunk, kept frames decoded ({r['chunks']} chunks): "
                     f"{r['seconds_per_chunk_before']:.3f} -> {r['seconds_per_chunk_after']:.3f} s/chunk (x{r['speedup']:.2f})")
        for label in ("before", "after"):
            lines.append(f"    {label:>6}: " + ", ".join(f"{part} {seconds:.3f}" for part, seconds in r[label].items()))
    if "refine" in report:
        r = report["refine"]
        lines.append(f"  refine: {r['frames']} frames at {r['size'][1]}x{r['size'][0]} in {r['seconds']:.2f} s "
                     f"({r['seconds_per_frame']:.3f} s/frame)")
    if "animatic" in report:
        a = report["animatic"]
        lines.append(f"  animatic: {a['frames']} frames at {a['size'][1]}x{a['size'][0]} "
                     f"in {a['seconds_per_chunk']:.3f} s per chunk")
    if "baseline" in report:
        b = report["baseline"]
        lines.append(f"  baseline (fp32, eager, unbatched guidance): {b['seconds_per_chunk']:.3f} s/chunk; speed-up x{b['speedup']:.2f}")
    return "\n".join(lines)
