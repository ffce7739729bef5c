"""The benchmark's machinery on the tiny preset (its figures are not asserted: speed lives in the report)."""

import copy

import numpy as np
import pytest

from studio.bench import baseline_preset, format_bench, run_bench
from studio.errors import StudioError


@pytest.fixture(scope="module")
def small(tiny_preset):
    preset = copy.deepcopy(tiny_preset)
    preset.streaming.width = preset.streaming.height = 16
    preset.bench.refine = False
    return preset


def test_report_has_every_field_the_issue_asks_for(small):
    report = run_bench(small, chunk_counts=[1, 2], steps=1, baseline=True)
    for key in ("seconds_per_chunk_by_chunks", "peak_rss_mb_by_chunks", "first_chunk_seconds",
                "first_chunk_seconds_at_25_steps", "model_time_fraction", "flops_per_chunk", "achieved_tflops",
                "memory_growth_first_to_last", "cold_start_seconds", "parameters"):
        assert key in report
    assert set(report["seconds_per_chunk_by_chunks"]) == {"1", "2"}
    assert [len(v) for v in report["chunk_seconds_by_chunks"].values()] == [1, 2]
    assert 0 < report["model_time_fraction"] <= 1
    assert report["flops_per_chunk"] > 0 and report["parameters"]["cam"] > 0
    baseline = report["baseline"]
    assert baseline["speedup"] == pytest.approx(baseline["seconds_per_chunk"] / baseline["optimised_seconds_per_chunk"],
                                                rel=0.05)
    assert "baseline (fp32, eager, unbatched guidance)" in format_bench(report)
    # The chunk's time by part, before and after the step-invariant work is done once per chunk.
    reused = report["reused_work"]
    for label in ("before", "after"):
        assert {"text", "apm", "cam", "unet", "vae", "scheduler", "files"} <= set(reused[label])
        assert all(seconds >= 0 for part, seconds in reused[label].items() if part != "other")
    assert sum(reused["before"].values()) == pytest.approx(reused["seconds_per_chunk_before"], abs=1e-3)
    assert "step-invariant work once per chunk" in format_bench(report)
    # The animatic's chunk time is a figure of the report (it was a timing assertion in the animatic tests).
    animatic = report["animatic"]
    assert animatic["frames"] == 16 and animatic["seconds_per_chunk"] > 0
    assert "animatic: 16 frames" in format_bench(report)


def test_flop_count_grows_linearly_with_steps(small):
    from studio.bench import _count_flops

    one, two, four = (_count_flops(small, steps) for steps in (1, 2, 4))
    assert two > one and four - two == pytest.approx(2 * (two - one), rel=1e-6)


def test_unbatched_guidance_is_the_same_computation(small):
    """The baseline's two forwards compute what the batched forward computes (to float rounding)."""
    from studio.generate.sampler import StreamingPipeline

    s = small.streaming
    context = np.random.default_rng(0).integers(0, 256, (s.context_frames, 16, 16, 3), dtype=np.uint8)
    anchor = context[0]
    batched = StreamingPipeline(small).make_chunk("a fox", context, anchor, seed=5, steps=2)
    unbatched = StreamingPipeline(baseline_preset(small)).make_chunk("a fox", context, anchor, seed=5, steps=2)
    assert np.abs(batched.astype(int) - unbatched.astype(int)).max() <= 2


def test_bad_chunk_counts_and_animatic_are_refused(small):
    from studio.config import load_preset

    with pytest.raises(StudioError, match="chunk counts"):
        run_bench(small, chunk_counts=[0])
    with pytest.raises(StudioError, match="animatic preset runs no models"):
        run_bench(load_preset("animatic"))


def test_cluster_bench_reports_scenes_per_minute_for_1_and_2_workers(small, capsys):
    """The cluster mode through the CLI: one run, the same 3-scene project on 1 then 2 Ray workers (1 chunk each)."""
    import json

    pytest.importorskip("ray")
    from studio.cli import main

    assert main(["bench", "--preset", "tiny", "--cluster-workers", "2", "--chunks", "1", "--steps", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    one, two = report["scenes_per_minute_1_worker"], report["scenes_per_minute_2_workers"]
    assert one > 0 and two > 0 and (report["scenes"], report["chunks_per_scene"]) == (3, 1)
    assert one == pytest.approx(3 / report["seconds_1_worker"] * 60, rel=0.01)
    assert report["cluster_speedup"] == pytest.approx(two / one, rel=0.01)
    assert report["same_chunks"] is True  # the same threads per worker in both runs: the same chunks


def test_cluster_bench_refuses_one_worker(small):
    from studio.bench_cluster import run_cluster_bench

    with pytest.raises(StudioError, match="must be 2 or more"):
        run_cluster_bench(small, workers=1)
