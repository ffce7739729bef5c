"""Which cluster the server uses (environment, else the preset, else none) and how runs share its workers.
No Ray starts here: the settings are read without it and the worker pool is plain bookkeeping."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from studio.cluster.connect import Cluster
from studio.cluster.service import ClusterSettings, cluster_settings
from studio.config import preset_from_dict
from studio.errors import StudioError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_cluster_env(monkeypatch):
    monkeypatch.delenv("STUDIO_CLUSTER", raising=False)
    monkeypatch.delenv("STUDIO_WORKERS", raising=False)
    return monkeypatch


def with_cluster(preset, spec="", workers=0):
    preset = copy.deepcopy(preset)
    preset.cluster.spec, preset.cluster.workers = spec, workers
    return preset


def test_no_cluster_unless_asked(no_cluster_env, tiny_preset):
    assert cluster_settings(tiny_preset) is None


def test_the_environment_beats_the_preset(no_cluster_env, tiny_preset):
    preset = with_cluster(tiny_preset, "ray://head:10001", 4)
    assert cluster_settings(preset) == ClusterSettings("ray://head:10001", 4)
    no_cluster_env.setenv("STUDIO_CLUSTER", "local")
    assert cluster_settings(preset) == ClusterSettings("local", 4)  # the preset's count still holds
    no_cluster_env.setenv("STUDIO_WORKERS", "2")
    assert cluster_settings(preset) == ClusterSettings("local", 2)


def test_a_remote_cluster_needs_a_worker_count(no_cluster_env, tiny_preset):
    no_cluster_env.setenv("STUDIO_CLUSTER", "auto")
    with pytest.raises(StudioError, match="set STUDIO_WORKERS") as info:
        cluster_settings(tiny_preset)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("spec, workers, message", [("nowhere", "", "local, auto or ray://HOST:PORT"),
                                                    ("local", "two", "whole number"), ("local", "0", "1 or more")])
def test_bad_environment_is_one_line(no_cluster_env, tiny_preset, spec, workers, message):
    no_cluster_env.setenv("STUDIO_CLUSTER", spec)
    no_cluster_env.setenv("STUDIO_WORKERS", workers)
    with pytest.raises(StudioError, match=message) as info:
        cluster_settings(tiny_preset)
    assert "\n" not in str(info.value)


def test_preset_cluster_section_is_checked():
    assert preset_from_dict({"name": "x", "cluster": {"spec": "auto", "workers": 3}}).cluster.workers == 3
    with pytest.raises(StudioError, match="cluster.spec"):
        preset_from_dict({"name": "x", "cluster": {"spec": "everywhere"}})
    with pytest.raises(StudioError, match="cluster.workers"):
        preset_from_dict({"name": "x", "cluster": {"spec": "local", "workers": -1}})
    with pytest.raises(StudioError, match="unknown key cluster.'gpus'"):
        preset_from_dict({"name": "x", "cluster": {"gpus": 2}})


def test_runs_borrow_workers_and_give_them_back():
    cluster = Cluster("local", ["a", "b", "c"])
    assert cluster.take(2) == ["a", "b"]
    assert cluster.take(5) == ["c"]  # what is free, not more
    stop = threading.Event()
    stop.set()
    assert cluster.take(1, stop) == []  # none free: a stopped run stops waiting
    got = []
    waiter = threading.Thread(target=lambda: got.append(cluster.take(1)))
    waiter.start()
    while not cluster.waiting:  # the waiting run is counted: a run with several workers gives one back
        threading.Event().wait(0.01)
    cluster.give_back(["b"])
    waiter.join(timeout=10)
    assert got == [["b"]]
    cluster.drop("a")  # lost: out for good, never handed out again
    cluster.give_back(["a", "c"])
    assert cluster.actors == ["b", "c"] and cluster.free == ["c"]
    cluster.drop("b"), cluster.drop("c")
    with pytest.raises(StudioError, match="no workers left"):
        cluster.take(1)


def test_the_server_asks_one_gpu_job_per_worker_without_starting_ray(tmp_path):
    code = ("import sys; from studio.config import load_preset; from studio.ui import build_app; "
            f"demo = build_app(load_preset('tiny'), projects_root={str(tmp_path)!r}); "
            "limits = {f.api_name: f.concurrency_limit for f in demo.fns.values() if f.concurrency_id == 'gpu'}; "
            "assert limits['generate'] == limits['regenerate_chunk'] == limits['refine'] == 2, limits; "
            "assert demo.studio.handlers.cluster.settings.spec == 'local'; "
            "assert 'ray' not in sys.modules, 'ray imported'")
    env = dict(os.environ, STUDIO_CLUSTER="local", STUDIO_WORKERS="2")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, env=env)
