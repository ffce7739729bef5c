"""Start or join a Ray cluster and start one SceneWorker per GPU (or per CPU slot without GPUs).

    local            a Ray cluster in this process's machine (every GPU of it)
    auto             the cluster `ray start --head` runs on this machine
    ray://HOST:PORT  a remote cluster through Ray Client
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field

from studio.config import check_cluster_spec as check_spec
from studio.errors import StudioError

logger = logging.getLogger(__name__)

CLUSTER_ENV = "STUDIO_CLUSTER"
WORKERS_ENV = "STUDIO_WORKERS"


_WAIT_SECONDS = 0.2  # how often a run waiting for a free worker looks at its stop flag


@dataclass
class Cluster:
    """The workers of one Ray cluster (actor handles), reused by every run of this process.

    Runs borrow workers (`take`) and hand them back (`give_back`): on a server several jobs run at once,
    each on workers no other job holds, so one job's cancel or lost worker never touches another's.
    """

    spec: str
    actors: list = field(default_factory=list)
    gpus: int = 0
    busy: dict = field(default_factory=dict)  # scene id -> the actor making it now
    free: list = field(default_factory=list)  # the workers no run holds now
    waiting: int = 0  # runs waiting for a free worker (a run with several gives one back after a scene)
    changed: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def __post_init__(self):
        self.free = list(self.actors)  # every worker starts free

    @property
    def size(self) -> int:
        return len(self.actors)

    def take(self, most: int, stop=None) -> list:
        """Up to `most` free workers, waiting for one if none is free; [] once `stop` is set."""
        with self.changed:
            self.waiting += 1
            try:
                while not self.free:
                    if not self.actors:
                        raise StudioError("the cluster has no workers left; start it again (run generate again to resume)")
                    if stop is not None and stop.is_set():
                        return []
                    self.changed.wait(_WAIT_SECONDS)
                taken, self.free = self.free[:max(most, 1)], self.free[max(most, 1):]
                return taken
            finally:
                self.waiting -= 1

    def give_back(self, actors) -> None:
        with self.changed:
            self.free.extend(actor for actor in actors if actor in self.actors and actor not in self.free)
            self.changed.notify_all()

    def drop(self, actor) -> None:
        """A lost worker: out of the cluster for good."""
        with self.changed:
            if actor in self.actors:
                self.actors.remove(actor)
            if actor in self.free:
                self.free.remove(actor)
            self.changed.notify_all()


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
    with cluster.changed:
        cluster.actors.clear()
        cluster.free.clear()
        cluster.changed.notify_all()
