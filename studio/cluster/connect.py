"""Start or join a Ray cluster and start one SceneWorker per GPU (or per CPU slot without GPUs).

    local            a Ray cluster in this process's machine (every GPU of it)
    auto             the cluster `ray start --head` runs on this machine
    ray://HOST:PORT  a remote cluster through Ray Client
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from studio.errors import StudioError

logger = logging.getLogger(__name__)

CLUSTER_ENV = "STUDIO_CLUSTER"
WORKERS_ENV = "STUDIO_WORKERS"


@dataclass
class Cluster:
    """The workers of one Ray cluster (actor handles), reused by every run of this process."""

    spec: str
    actors: list = field(default_factory=list)
    gpus: int = 0
    busy: dict = field(default_factory=dict)  # scene id -> the actor making it now

    @property
    def size(self) -> int:
        return len(self.actors)


def check_spec(spec: str) -> str:
    if spec in ("local", "auto") or (spec.startswith("ray://") and len(spec) > len("ray://")):
        return spec
    raise StudioError(f"cluster {spec!r} is not one of local, auto or ray://HOST:PORT; pick one of those")


def connect(spec: str, workers: int | None = None) -> Cluster:
    """Join (or start) the cluster `spec` and start `workers` SceneWorkers (default: one per GPU, else 1)."""
    spec = check_spec(spec)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise StudioError(f"--workers {workers!r} must be a whole number of 1 or more")
    import ray

    # 1. The cluster: an already running one in this process (tests, the server) is reused.
    if not ray.is_initialized():
        _init(ray, spec, workers)
    resources = ray.cluster_resources()
    gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 0))
    # 2. How many workers: one per GPU; without GPUs, one per CPU asked for.
    count = workers or max(gpus, 1)
    if gpus and count > gpus:
        raise StudioError(f"asked for {count} workers but the cluster has {gpus} GPUs; use --workers {gpus} or add machines")
    if not gpus and count > cpus:
        raise StudioError(f"asked for {count} workers but the cluster has {cpus} CPUs; use --workers {cpus} or fewer")
    # 3. The actors, one GPU (or one CPU) each: each process keeps its own model cache.
    from studio.cluster.worker import SceneWorker

    remote = ray.remote(SceneWorker).options(num_cpus=1, num_gpus=1 if gpus else 0, max_restarts=0)
    actors = [remote.remote() for _ in range(count)]
    names = ray.get([actor.identity.remote() for actor in actors])
    logger.info("cluster %s: %d workers (%s)", spec, count, ", ".join(names))
    return Cluster(spec, actors, gpus)


def _init(ray, spec: str, workers: int | None) -> None:
    try:
        if spec == "local":
            ray.init(num_cpus=max(workers or 1, os.cpu_count() or 1), include_dashboard=False,
                     log_to_driver=False, logging_level=logging.WARNING)
        else:
            ray.init(address=spec, log_to_driver=False, logging_level=logging.WARNING)
    except (ConnectionError, RuntimeError, ValueError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise StudioError(f"cannot reach the Ray cluster {spec!r} ({first}); start it with `ray start --head` "
                          "or use --cluster local") from None


def cluster_from_env() -> tuple[str, int | None] | None:
    """($STUDIO_CLUSTER, $STUDIO_WORKERS) for the server, or None when no cluster is asked for."""
    spec = os.environ.get(CLUSTER_ENV, "").strip()
    if not spec:
        return None
    raw = os.environ.get(WORKERS_ENV, "").strip()
    if raw and not raw.isdigit():
        raise StudioError(f"{WORKERS_ENV}={raw!r} must be a whole number of workers")
    return check_spec(spec), int(raw) if raw else None


def shutdown(cluster: Cluster) -> None:
    import ray

    for actor in cluster.actors:
        ray.kill(actor)
    cluster.actors.clear()
