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

The checkpoints are written by a subprocess of their own: a child started from a parent that holds
gigabytes inherits the parent's memory in its ru_maxrss and VmHWM (the kernel records the old memory's
high-water mark at exec), which would be measured as the converter's.
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
    """Run the convert command; its peak memory in MiB and its seconds (ru_maxrss from wait4: this child's own)."""
    command = [sys.executable, "-m", "studio", "weights", "convert", str(source), "-o", str(target), "--preset", "gpu"]
    log = target.with_suffix(".log")
    started = time.perf_counter()
    with open(log, "w") as output:
        child = subprocess.Popen(command, cwd=REPO, stdout=output, stderr=subprocess.STDOUT)
        peaks = {"VmHWM": 0, "RssAnon": 0, "RssFile": 0}
        while True:
            for key, value in _status_kib(child.pid).items():
                if key in peaks:
                    peaks[key] = max(peaks[key], value)
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.05)
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, so that its rusage is its own
    seconds = time.perf_counter() - started
    lines = log.read_text().strip().splitlines()
    log.unlink()
    if child.returncode != 0:
        raise SystemExit(f"convert failed ({child.returncode}): {lines[-1:]}")
    return {"peak_rss_mib": round(max(usage.ru_maxrss, peaks["VmHWM"]) / 1024, 1),
            "ru_maxrss_mib": round(usage.ru_maxrss / 1024, 1),
            "peak_rss_anon_mib": round(peaks["RssAnon"] / 1024, 1),
            "peak_rss_file_mib": round(peaks["RssFile"] / 1024, 1),
            "seconds": round(seconds, 1), "output": lines[-1] if lines else ""}


def write_in_subprocess(path: Path, gigabytes: float) -> dict:
    """Write a synthetic checkpoint from another process (this one stays small); its sizes."""
    command = [sys.executable, __file__, "--write", str(path), "--gigabytes", str(gigabytes)]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"writing {path} failed: {result.stderr.strip().splitlines()[-1:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gigabytes", type=float, default=2.0, help="size of real data in the checkpoint")
    parser.add_argument("--folder", type=Path, default=Path("/tmp"))
    parser.add_argument("--keep", action="store_true", help="keep the files (they are deleted by default)")
    parser.add_argument("--write", type=Path, help=argparse.SUPPRESS)  # the writer subprocess's own mode
    args = parser.parse_args()
    if args.write:
        state, filled, largest = synthetic_state(args.gigabytes)
        write_checkpoint(args.write, state)
        print(json.dumps({"filled": filled, "largest": largest}))
        return 0
    folder = args.folder / f"streamstudio-convert-memory-{os.getpid()}"
    folder.mkdir(parents=True)
    paths = [folder / name for name in ("baseline.ckpt", "baseline.safetensors", "big.ckpt", "big.safetensors")]
    try:
        write_in_subprocess(paths[0], 0.0)
        baseline = measure_convert(paths[0], paths[1])
        paths[1].unlink()
        sizes = write_in_subprocess(paths[2], args.gigabytes)
        largest = sizes["largest"]
        big = measure_convert(paths[2], paths[3])
        report = {
            "measuring_process_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "checkpoint_mib": round(paths[2].stat().st_size / MIB, 1),
            "filled_tensor_mib": round(sizes["filled"] / MIB, 1),
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
