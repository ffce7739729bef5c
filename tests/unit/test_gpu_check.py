"""The prepared GPU check: offline installation of what is missing, the no-CUDA path end to end,
and the README table from the bench reports."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from studio.errors import StudioError
from studio.gpu_check import ROOT, held_constraints, install_resolved, read_requirements, summary_table


def _fake_wheel(folder: Path, name: str = "zzz_fake", version: str = "1.0", requires: tuple[str, ...] = ()) -> Path:
    """A minimal pure-Python wheel, as pip builds them (with Requires-Dist lines for `requires`)."""
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": "VALUE = 42\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\nVersion: {version}\n"
                            + "".join(f"Requires-Dist: {r}\n" for r in requires),
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files[f"{info}/RECORD"] = "".join(f"{path},,\n" for path in [*files, f"{info}/RECORD"])
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def test_the_wheel_list_pins_every_package():
    requirements = read_requirements()
    assert "diffusers==0.42.1" in requirements
    assert all("==" in requirement for requirement in requirements)


def test_the_wheel_set_is_resolved_against_this_machine_and_installed_beside_it(tmp_path):
    """Catches: a wheel installed only when its package is absent and with --no-deps (a dependency the set needs
    never came, an old version stayed), an install into the machine's own site-packages, and a set that would
    replace the machine's torch being installed anyway instead of refused in one line."""
    import importlib.metadata

    wheels = tmp_path / "wheels"
    _fake_wheel(wheels, requires=("zzz-dep>=2",))
    _fake_wheel(wheels, "zzz_dep", "2.0")
    _fake_wheel(wheels, "torch", "0.0.1")
    pytest_pin = f"pytest=={importlib.metadata.version('pytest')}"
    target = tmp_path / "site"
    assert sorted(install_resolved(wheels, target, ["zzz-fake==1.0", pytest_pin])) == ["zzz-dep==2.0", "zzz-fake==1.0"]
    assert (target / "zzz_fake" / "__init__.py").read_text() == "VALUE = 42\n" and (target / "zzz_dep").is_dir()
    assert not (target / "_pytest").exists()  # already here at that version: not installed again
    assert any(held.startswith("torch==") for held in held_constraints())
    with pytest.raises(StudioError, match="does not resolve") as raised:
        install_resolved(wheels, tmp_path / "other", ["torch==0.0.1"])
    assert "\n" not in str(raised.value) and not (tmp_path / "other" / "torch").exists()


def test_a_missing_wheel_folder_says_what_to_run(tmp_path):
    with pytest.raises(StudioError, match="run scripts/gpu_wheels.sh"):
        install_resolved(tmp_path / "absent", tmp_path / "site", ["zzz-fake==1.0"])


@pytest.mark.slow
def test_the_check_without_cuda_stops_cleanly_before_the_gpu_part(tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "PYTHON": sys.executable, "CUDA_VISIBLE_DEVICES": ""}  # no CUDA, even on a GPU machine
    result = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh"), str(out)], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:]
    log = (out / "gpu_check.log").read_text()
    assert "no CUDA device is present" in log
    assert json.loads((out / "env.json").read_text())["cuda_device"] is None
    assert json.loads((out / "smoke_tiny.json").read_text())["frames"] == [8, 32, 32, 3]
    assert (out / "smoke_tiny.mp4").stat().st_size > 0
    assert not (out / "bench_50.json").exists()  # the GPU part did not start


def _report(seconds: float) -> dict:
    return {
        "preset": "bench-gpu", "device": "NVIDIA H200", "dtype": "bfloat16", "scheduler": "ddim", "frame_size": [256, 256],
        "seconds_per_chunk_by_chunks": {"2": seconds, "8": seconds * 1.01},
        "peak_cuda_mb_by_chunks": {"2": 9000.0, "8": 9010.0}, "peak_rss_mb_by_chunks": {"2": 1.0, "8": 1.0},
        "first_chunk_seconds": 2.5, "first_chunk_seconds_at_25_steps": 1.4, "memory_growth_first_to_last": 0.0011,
        "achieved_tflops": 210.0, "flops_per_chunk": 4.0e14,
        "baseline": {"seconds_per_chunk": seconds * 3.5, "speedup": 3.5},
        "reused_work": {"seconds_per_chunk_before": 2.2, "seconds_per_chunk_after": seconds, "speedup": 1.2,
                        "before": {"unet": 2.0, "vae": 0.2}, "after": {"unet": 1.7, "vae": 0.1}},
    }


def test_the_table_has_the_figures_the_readme_asks_for():
    table = summary_table(_report(1.8), _report(0.9), {"date": "2026-12-01", "cuda_device": "NVIDIA H200",
                                                       "versions": {"torch": "2.11.0"}})
    assert table.startswith("Measured 2026-12-01 on NVIDIA H200 (torch 2.11.0")
    assert "| seconds per chunk, 50 steps | 2 chunks: 1.800, 8 chunks: 1.818 |" in table
    assert "| seconds per chunk, 25 steps | 2 chunks: 0.900, 8 chunks: 0.909 |" in table
    assert "| first chunk, 50 steps / 25 steps (s) | 2.500 / 1.400 |" in table
    assert "| peak memory by chunks (MB) | 2: 9000, 8: 9010 |" in table
    assert "x3.50" in table and "| achieved TFLOP/s, 50 steps | 210.00 (400.0 TFLOP per chunk) |" in table
    assert "| parts per chunk, after | unet 1.700, vae 0.100 |" in table
