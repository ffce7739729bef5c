"""`bench` for an LTX-Video preset: the same loop a creator runs (generate_scene on a real project, then
refine_scene), with the figures bench-gpu gives where they apply to this model.

- seconds_per_chunk_by_chunks, chunk_seconds_by_chunks, peak memory per length (RSS; CUDA on a GPU)
- first_chunk_seconds: from the call to the first finished chunk (warm)
- seconds_per_video_second: a chunk's time over the seconds of video it adds (new frames / fps)
- parameters of each part, cold start, and the refine (latent upscaler + second pass) on the longest scene

StreamingT2V's extra figures (CAM/APM parts, reused step work, FLOPs, the naive baseline) have no
meaning here and are left out. On bench-ltx the parts are full size with random weights (no download).
"""

from __future__ import annotations

import copy
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from studio.config import Preset
from studio.errors import StudioError


def run_ltx_bench(preset: Preset, *, chunk_counts: list[int] | None = None, steps: int | None = None,
                  baseline: bool = False) -> dict[str, Any]:
    import torch

    from studio.bench import _bench_project, _bench_refine, _stream
    from studio.generate.ltx.components import PARTS, get_part
    from studio.models.cache import device_for, dtype_for

    if baseline:
        raise StudioError("--baseline compares StreamingT2V's naive and optimised loops; LTX presets have no baseline")
    preset = copy.deepcopy(preset)
    if steps is not None:
        preset.streaming.steps = steps
        preset.ltx.sigmas = []  # the step count asked for, on the linear-quadratic schedule
    counts = sorted(set(chunk_counts or preset.bench.chunk_counts))
    if not counts or counts[0] < 1 or counts[-1] > preset.streaming.max_chunks:
        raise StudioError(f"chunk counts {counts} must be between 1 and {preset.streaming.max_chunks}")
    cuda = device_for(preset).type == "cuda"
    started = time.perf_counter()
    parts = {part: get_part(preset, part) for part in PARTS}
    s = preset.streaming
    new_frames = s.frames_per_chunk - s.context_frames
    report: dict[str, Any] = {
        "preset": preset.name, "family": "ltx",
        "device": torch.cuda.get_device_name(device_for(preset)) if cuda else platform.processor() or platform.machine(),
        "cpu_threads": torch.get_num_threads(), "dtype": str(dtype_for(preset)).replace("torch.", ""),
        "steps": len(preset.ltx.sigmas) or s.steps, "frame_size": [s.height, s.width],
        "frames_per_chunk": s.frames_per_chunk, "new_frames_per_chunk": new_frames, "fps": s.fps,
        "parameters": {part: sum(p.numel() for p in model.parameters()) for part, model in parts.items()
                       if hasattr(model, "parameters")},
        "cold_start_seconds": round(time.perf_counter() - started, 2),
    }
    with tempfile.TemporaryDirectory(prefix="studio-bench-") as tmp:
        root = Path(tmp)
        _stream(_bench_project(root / "warm", preset, 1), preset, 1, cuda)  # first-call costs
        runs = {count: _stream(_bench_project(root, preset, count), preset, count, cuda) for count in counts}
        per_chunk = {str(c): round(r["total_seconds"] / c, 4) for c, r in runs.items()}
        report["seconds_per_chunk_by_chunks"] = per_chunk
        report["chunk_seconds_by_chunks"] = {str(c): [round(x, 4) for x in r["chunk_seconds"]] for c, r in runs.items()}
        report["peak_rss_mb_by_chunks"] = {str(c): r["peak_rss_mb"] for c, r in runs.items()}
        if cuda:
            report["peak_cuda_mb_by_chunks"] = {str(c): r["peak_cuda_mb"] for c, r in runs.items()}
        report["first_chunk_seconds"] = round(runs[counts[-1]]["chunk_seconds"][0], 4)
        report["seconds_per_video_second"] = round(per_chunk[str(counts[-1])] / (new_frames / s.fps), 4)
        if preset.bench.refine:
            report["refine"] = _bench_refine(root / f"bench-{counts[-1]}", preset, cuda)
    return report


def format_ltx_bench(report: dict[str, Any]) -> str:
    lines = [f"preset {report['preset']} (LTX-Video) on {report['device']} ({report['dtype']}, {report['steps']} steps, "
             f"{report['frame_size'][1]}x{report['frame_size'][0]}, {report['new_frames_per_chunk']} new frames per chunk "
             f"at {report['fps']} fps)"]
    for count, seconds in report["seconds_per_chunk_by_chunks"].items():
        memory = report.get("peak_cuda_mb_by_chunks", report["peak_rss_mb_by_chunks"])[count]
        lines.append(f"  {count:>3} chunks: {seconds:.3f} s/chunk, peak {memory:.0f} MB")
    lines.append(f"  first chunk: {report['first_chunk_seconds']:.3f} s; "
                 f"{report['seconds_per_video_second']:.3f} s per second of video")
    if "refine" in report:
        r = report["refine"]
        lines.append(f"  refine: {r['frames']} frames at {r['size'][1]}x{r['size'][0]} in {r['seconds']:.2f} s "
                     f"({r['seconds_per_frame']:.3f} s/frame)")
    return "\n".join(lines)
