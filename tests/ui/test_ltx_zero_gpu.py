"""ZeroGPU on the LTX backend: each LTX chunk is its own `spaces.GPU` call, in the simulated ZeroGPU
environment of test_zero_gpu_chunks (the real `spaces` package, its forked worker and per-call budget)."""

import json
import subprocess
import sys

import pytest

from studio.config import load_preset
from studio.gpu import chunk_gpu_seconds
from tests.ui.test_zero_gpu_chunks import SIMULATION

LTX_SIMULATION = (SIMULATION
                  .replace('load_preset("tiny")', 'load_preset("tiny-ltx")')
                  .replace('here = StreamingPipeline(preset).make_chunk("a fox", context, context[-1], 3)',
                           'from studio.generate.ltx.chunk import make_ltx_chunk\n'
                           'here = make_ltx_chunk(preset, "a fox", context, context[-1], 3, keep_context=False)'))


def test_the_ltx_zerogpu_budget_comes_from_its_eight_steps():
    """Bug caught: the budget computed from StreamingT2V's 50-step first chunk, which LTX never runs."""
    import dataclasses

    preset = load_preset("ltx-zerogpu")
    only_streaming_steps = dataclasses.replace(preset, first_chunk=dataclasses.replace(preset.first_chunk, unet="streaming"))
    assert chunk_gpu_seconds(preset) == chunk_gpu_seconds(only_streaming_steps)
    assert chunk_gpu_seconds(preset) <= 60  # within ZeroGPU's default per-call budget (an estimate: unmeasured)


@pytest.mark.slow
def test_each_ltx_chunk_is_its_own_spaces_gpu_call():
    """Bug caught: the GPU call's body making StreamingT2V chunks whatever the preset's family (frames 16, 8)."""
    assert "make_ltx_chunk" in LTX_SIMULATION and '"tiny-ltx"' in LTX_SIMULATION
    result = subprocess.run([sys.executable, "-c", LTX_SIMULATION], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["calls"] == [chunk_gpu_seconds(load_preset("tiny-ltx"))] * 3
    assert report["same"]  # the forked worker made the same frames as this process
    assert report["frames"] == [17, 8]  # LTX: chunk 0 is one 17-frame clip, then 8 new frames per chunk
