"""Scale-out on Ray: scenes in parallel on GPU workers, chunks inside a scene in order.

- connect.py    `--cluster local|auto|ray://HOST:PORT`: start or join a Ray cluster, start the workers
- worker.py     SceneWorker, one Ray actor per GPU (its own model cache): streams a scene's chunks back
- scheduler.py  generate_project_on_cluster: hands scenes to free workers, writes project.json (the head
                is its one writer), retries a lost worker's scene on another one, yields ChunkEvents

Ray is imported only here, and only when a cluster is asked for.
"""

from __future__ import annotations

from functools import partial


def on_cluster(spec: str, workers: int | None = None):
    """generate_project's twin on the cluster `spec`: call it with (project_dir, preset, scene_id=..., ...)."""
    from studio.cluster.connect import connect
    from studio.cluster.scheduler import generate_project_on_cluster

    return partial(generate_project_on_cluster, connect(spec, workers))
