"""ZeroGPU: one `spaces.GPU` call per chunk, with the real `spaces` package in a simulated ZeroGPU
environment (SPACES_ZERO_GPU=true; the device API's schedule/allow/release answered in-process, and
the CUDA-build tensor hooks, which cannot load on a CPU torch, made no-ops). The real decorator forks
its worker, pickles each chunk's arguments and frames across, and asks for a budget per call."""

import json
import subprocess
import sys
import textwrap

import pytest

from studio.config import load_preset
from studio.gpu import chunk_gpu_seconds

SIMULATION = textwrap.dedent('''
    import json, multiprocessing, os, sys, tempfile, types
    from pathlib import Path
    os.environ["SPACES_ZERO_GPU"] = "true"
    os.environ["SPACES_ZERO_DEVICE_API_URL"] = "http://127.0.0.1:9"  # never contacted
    hooks = types.ModuleType("spaces.zero.torch")
    hooks.is_in_bad_fork = lambda: False
    hooks.size = hooks.pack = lambda *a, **k: 0
    for name in ("patch", "unpatch", "init", "move", "enter_mode", "exit_mode"):
        setattr(hooks, name, lambda *a, **k: None)
    sys.modules["spaces.zero.torch"] = hooks
    import numpy as np
    import spaces
    from spaces.zero import client
    from spaces.zero.api import ScheduleResponse
    calls = []
    def schedule(task_id, request=None, duration=None, gpu_size=None, **_):
        calls.append(duration.total_seconds())
        return ScheduleResponse(idle=True, nvidiaIndex=0, nvidiaUUID="GPU-simulated", allowToken="token")
    client.schedule = schedule
    client.allow = lambda token: None
    client.release = lambda token, fail=False, allow_404=False: None

    from studio.bench import _bench_project
    from studio.config import load_preset
    from studio.generate.gpu_chunk import make_streaming_chunk
    from studio.generate.sampler import StreamingPipeline
    from studio.generate.stage import generate_scene
    preset = load_preset("tiny")
    s = preset.streaming
    context = np.random.default_rng(0).integers(0, 256, (s.context_frames, s.height, s.width, 3), dtype=np.uint8)
    on_gpu = make_streaming_chunk(preset, "a fox", context, context[-1], 3, None, keep_context=False)
    here = StreamingPipeline(preset).make_chunk("a fox", context, context[-1], 3)
    workers = len(multiprocessing.active_children())
    with tempfile.TemporaryDirectory() as root:
        events = list(generate_scene(_bench_project(Path(root), preset, 2), preset, "scene-1", num_chunks=2))
    print(json.dumps({"calls": calls, "same": bool(np.array_equal(on_gpu, here)), "workers": workers,
                      "frames": [e.num_frames for e in events]}))
''')


def test_the_chunk_budget_follows_the_presets_steps_and_fits_zero_gpu():
    preset = load_preset("zerogpu")
    budget = chunk_gpu_seconds(preset)
    preset.streaming.steps = 50
    assert chunk_gpu_seconds(preset) > budget
    assert budget <= 60  # ZeroGPU's default per-call budget


@pytest.mark.slow
def test_each_chunk_is_its_own_spaces_gpu_call():
    result = subprocess.run([sys.executable, "-c", SIMULATION], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    budget = chunk_gpu_seconds(load_preset("tiny"))
    # One call for the direct chunk, then one per chunk of the two-chunk scene, each with the chunk's budget.
    assert report["calls"] == [budget] * 3
    assert report["same"]  # the forked worker made the same frames as this process
    assert report["workers"] >= 1  # it did run in spaces' worker process
    assert report["frames"] == [16, 8]  # the scene: chunk 0 keeps its context frames, chunk 1 adds 8
