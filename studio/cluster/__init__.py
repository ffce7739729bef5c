"""Scale-out on Ray: scenes in parallel on GPU workers, chunks inside a scene in order.

- connect.py    `--cluster local|auto|ray://HOST:PORT`: start or join a Ray cluster, start the workers
- worker.py     SceneWorker, one Ray actor per GPU (its own model cache): streams a scene's chunks back
- scheduler.py  generate_project_on_cluster: hands scenes to free workers, writes project.json (the head
                is its one writer), retries a lost worker's scene on another one, yields ChunkEvents
- jobs.py       one regenerate or refine job on the next free worker (refine_project_on_cluster: all at once)
- service.py    the server's cluster ($STUDIO_CLUSTER, $STUDIO_WORKERS or the preset), joined on the first job

Ray is imported only here, and only when a cluster is asked for.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator


def on_cluster(spec: str, workers: int | None = None):
    """generate_project's twin for one command: joins the cluster `spec`, starts the workers, runs, and
    stops the workers when the run ends. Call it with (project_dir, preset, scene_id=..., num_chunks=..., stop=...)."""

    def generate_project(project_dir, preset, **options) -> Iterator:
        from studio.cluster.connect import connect, shutdown
        from studio.cluster.scheduler import generate_project_on_cluster

        cluster = connect(spec, workers)
        try:
            yield from generate_project_on_cluster(cluster, project_dir, preset, **options)
        finally:
            shutdown(cluster)

    return generate_project


@contextmanager
def joined(spec: str, workers: int | None = None):
    """The cluster `spec` with its workers started, for one command; the workers stop when it ends."""
    from studio.cluster.connect import connect, shutdown

    cluster = connect(spec, workers)
    try:
        yield cluster
    finally:
        shutdown(cluster)
