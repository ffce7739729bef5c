"""Peak RAM of `python -m studio weights convert` on a multi-GB synthetic StreamingT2V checkpoint.

    python scripts/measure_convert_memory.py [--gigabytes 2] [--folder /tmp] [--keep]

The checkpoint has the official 2,389 names and full-size shapes (tests/fixtures, through the test
helpers that write synthetic checkpoints): the largest tensors are filled with fp32 values until the
file reaches the size asked for, the rest are stride-0 (one element each). The converter writes every
tensor at full size in fp16, so its output is ~4.3 GB whatever the input size.

The convert command runs in a subprocess, sampled every 50 ms through /proc/<pid>/status (VmHWM, and
the peaks of RssAnon: memory the process allocated, and RssFile: pages of mapped files, which the
kernel can drop at will), and ru_maxrss of the child once it ends. A second run on an all-stride-0
checkpoint gives the baseline (imports, the meta-device model the file is checked against). The
conversion streams when the peak above that baseline is about one tensor, not the file.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MIB = 2**20


def synthetic_state(gigabytes: float) -> tuple[dict, int, int]:
    """Official names and shapes; the largest tensors filled (fp32) up to `gigabytes`, the rest stride-0.

    Returns the state, the bytes of real data, and the largest tensor's fp32 bytes."""
    import torch

    from tests.unit.test_weights_mapping import official_shapes, stride_zero_state

    shapes = official_shapes()
    state = stride_zero_state(shapes)
    budget, filled = gigabytes * 1e9, 0
    generator = torch.Generator().manual_seed(0)
    for name in sorted(shapes, key=lambda n: math.prod(shapes[n]), reverse=True):
        size = math.prod(shapes[name]) * 4
        if filled + size > budget:
            break
        state[name] = torch.randn(shapes[name], generator=generator)
        filled += size
    largest = max(math.prod(shape) for shape in shapes.values()) * 4
    return state, filled, largest


def write_checkpoint(path: Path, state: dict) -> None:
    from studio.project.paths import atomic_path
    from tests.unit.test_weights_mapping import write_lightning

    with atomic_path(path) as tmp:
        write_lightning(tmp, state)  # a Lightning-style file: state_dict, frozen copies, optimizer state


def _status_kib(pid: int) -> dict[str, int]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    fields = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
            fields[key] = int(value.split()[0])
    return fields


def measure_convert(source: Path, target: Path) -> dict:
    """Run the convert command; its peak memory in MiB and its seconds."""
    command = [sys.executable, "-m", "studio", "weights", "convert", str(source), "-o", str(target), "--preset", "gpu"]
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peaks = {"VmHWM": 0, "RssAnon": 0, "RssFile": 0}
    while child.poll() is None:
        for key, value in _status_kib(child.pid).items():
            if key in peaks:
                peaks[key] = max(peaks[key], value)
        time.sleep(0.05)
    out, err = child.communicate()
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"convert failed ({child.returncode}): {err.strip().splitlines()[-1:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"peak_rss_mib": round(max(after, peaks["VmHWM"]) / 1024, 1),
            "children_ru_maxrss_mib": round(after / 1024, 1),  # getrusage: the largest child so far
            "peak_rss_anon_mib": round(peaks["RssAnon"] / 1024, 1),
            "peak_rss_file_mib": round(peaks["RssFile"] / 1024, 1),
            "seconds": round(seconds, 1), "output": out.strip()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gigabytes", type=float, default=2.0, help="size of real data in the checkpoint")
    parser.add_argument("--folder", type=Path, default=Path("/tmp"))
    parser.add_argument("--keep", action="store_true", help="keep the files (they are deleted by default)")
    args = parser.parse_args()
    folder = args.folder / f"streamstudio-convert-memory-{os.getpid()}"
    folder.mkdir(parents=True)
    paths = [folder / name for name in ("baseline.ckpt", "baseline.safetensors", "big.ckpt", "big.safetensors")]
    try:
        state, _, largest = synthetic_state(0.0)
        write_checkpoint(paths[0], state)
        baseline = measure_convert(paths[0], paths[1])
        paths[1].unlink()
        state, filled, largest = synthetic_state(args.gigabytes)
        write_checkpoint(paths[2], state)
        del state  # the writer's copy; the child maps the file itself
        big = measure_convert(paths[2], paths[3])
        report = {
            "checkpoint_mib": round(paths[2].stat().st_size / MIB, 1),
            "filled_tensor_mib": round(filled / MIB, 1),
            "output_mib": round(paths[3].stat().st_size / MIB, 1),
            "largest_tensor_fp32_mib": round(largest / MIB, 1),
            "largest_tensor_fp16_mib": round(largest / 2 / MIB, 1),
            "baseline": baseline,
            "convert": big,
            "peak_above_baseline_mib": round(big["peak_rss_mib"] - baseline["peak_rss_mib"], 1),
        }
        print(json.dumps(report, indent=2))
    finally:
        for path in paths if not args.keep else []:
            path.unlink(missing_ok=True)
        if not args.keep:
            for leftover in folder.iterdir():  # an interrupted atomic write's temporary file
                leftover.unlink()
            folder.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
