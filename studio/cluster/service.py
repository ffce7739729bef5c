"""The server on a cluster: which cluster ($STUDIO_CLUSTER / $STUDIO_WORKERS, else the preset's `cluster:`
section), and one connection per process, made on the first job (nothing of Ray starts before).

ClusterJobs has the stage functions' names and arguments, so a handler calls `jobs.generate_project(...)`
where it would call `studio.generate.stage.generate_project(...)`, and streams the same ChunkEvents.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from studio.cluster.connect import WORKERS_ENV, cluster_from_env
from studio.config import Preset
from studio.errors import StudioError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClusterSettings:
    spec: str  # local | auto | ray://HOST:PORT
    workers: int  # how many workers the server starts: also how many GPU jobs it runs at once


def cluster_settings(preset: Preset) -> ClusterSettings | None:
    """The cluster the server's jobs run on, or None (in this process). The environment beats the preset."""
    from_env = cluster_from_env()  # (spec, workers or None), or None without $STUDIO_CLUSTER
    spec = from_env[0] if from_env else preset.cluster.spec
    if not spec:
        return None
    workers = from_env[1] if from_env and from_env[1] is not None else (preset.cluster.workers or None)
    if workers is not None and workers < 1:
        raise StudioError(f"{WORKERS_ENV}={workers} must be 1 or more workers")
    if workers is None:
        if spec != "local":  # the queue's concurrency is set before the first job connects
            raise StudioError(f"cluster {spec!r} needs a worker count: set {WORKERS_ENV} (or cluster.workers in the "
                              "preset) to the number of GPU jobs the server may run at once")
        workers = _local_gpus() or 1
    return ClusterSettings(spec, workers)


def _local_gpus() -> int:
    import torch  # only with a local cluster asked for, to count its GPUs as connect() will

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


_CONNECTED: dict = {}  # ClusterSettings -> studio.cluster.connect.Cluster, for this process
_CONNECTING = threading.Lock()


def connected(settings: ClusterSettings):
    """The process's Cluster for `settings`: joined and its workers started on the first call, reused after."""
    with _CONNECTING:
        cluster = _CONNECTED.get(settings)
        if cluster is None or not cluster.actors:
            from studio.cluster.connect import connect

            cluster = _CONNECTED[settings] = connect(settings.spec, settings.workers)
        return cluster


def disconnect() -> None:
    """Stop every worker this process started (tests, shutdown); the next job connects again."""
    from studio.cluster.connect import shutdown

    with _CONNECTING:
        for cluster in _CONNECTED.values():
            shutdown(cluster)
        _CONNECTED.clear()


class ClusterJobs:
    """The GPU stages of the server, run on the cluster's workers."""

    def __init__(self, settings: ClusterSettings):
        self.settings = settings

    @property
    def workers(self) -> int:
        return self.settings.workers

    def generate_project(self, project_dir: Path, preset: Preset, **options):
        from studio.cluster.scheduler import generate_project_on_cluster

        yield from generate_project_on_cluster(connected(self.settings), project_dir, preset, **options)

    def regenerate_chunk(self, project_dir: Path, preset: Preset, scene_id: str, chunk_index: int, **options):
        from studio.cluster.jobs import regenerate_chunk_on_cluster

        return regenerate_chunk_on_cluster(connected(self.settings), project_dir, preset, scene_id, chunk_index, **options)

    def refine_scene(self, project_dir: Path, preset: Preset, scene_id: str, **options):
        from studio.cluster.jobs import refine_scene_on_cluster

        return refine_scene_on_cluster(connected(self.settings), project_dir, preset, scene_id, **options)


def cluster_jobs(preset: Preset) -> ClusterJobs | None:
    settings = cluster_settings(preset)
    if settings is not None:
        logger.info("GPU jobs run on cluster %s with %d workers (connected on the first job)",
                    settings.spec, settings.workers)
    return ClusterJobs(settings) if settings else None
