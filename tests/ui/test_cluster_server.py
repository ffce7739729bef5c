"""The studio served with STUDIO_CLUSTER=local STUDIO_WORKERS=2: a gradio_client's Generate job runs on two
Ray workers and streams its chunks as in-process (one output per chunk, then Done), the chunk files
bit-identical to an in-process run of the same project; Stop ends the workers' scenes keeping finished
chunks. One Ray start for the module (tiny models at 16x16, 2 steps)."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

from tests.ui.conftest import fake_request, free_port
from tests.chunk_files import chunk_npz

ray = pytest.importorskip("ray")

CHUNKS = 2
PROMPT = "A paper boat drifts down a rainy street. Then a black cat watches it from a window."


@pytest.fixture(scope="module")
def small_preset():
    from studio.config import load_preset

    preset = load_preset("tiny")
    preset.streaming.width = preset.streaming.height = 16
    preset.streaming.steps = 2
    return preset


@pytest.fixture(scope="module")
def cluster_studio(tmp_path_factory, small_preset):
    """The studio on two local Ray workers (asked for through the environment), served on 127.0.0.1."""
    from studio.cluster.service import disconnect
    from studio.ui import build_app, launch_options, queue

    with pytest.MonkeyPatch.context() as env:
        env.setenv("STUDIO_CLUSTER", "local")
        env.setenv("STUDIO_WORKERS", "2")
        demo = queue(build_app(small_preset, projects_root=tmp_path_factory.mktemp("projects"), preset_reason="cluster"))
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True,
                            **launch_options(demo))
    try:
        yield demo, url
    finally:
        demo.close()
        disconnect()
        ray.shutdown()


def test_a_client_sees_chunks_stream_from_ray_workers(cluster_studio, small_preset, tmp_path, monkeypatch):
    from gradio_client import Client

    import studio.generate.stage as stage
    from studio.cluster import service
    from studio.media.video import load_frames
    from studio.project.model import load_project

    demo, url = cluster_studio
    assert not ray.is_initialized()  # nothing of Ray before the first job
    client = Client(url, verbose=False)
    project_id, scenes, _, _ = client.predict(PROMPT, "rules", 2, api_name="/plan")
    (folder,) = demo.studio.workspace.sessions_root.glob(f"*/{project_id}")
    scene_ids = [row[0] for row in scenes["data"]]
    assert len(scene_ids) == 2

    # The in-process run of the same project (same seeds), made first from a copy.
    reference = tmp_path / "reference"
    shutil.copytree(folder, reference)
    list(stage.generate_project(reference, small_preset, num_chunks=CHUNKS))

    # From here the head cannot make a chunk itself: every chunk must come from a worker's process.
    def not_on_the_head(*args, **kwargs):
        raise AssertionError("a chunk was made in the server's process")

    monkeypatch.setattr(stage, "generate_scene", not_on_the_head)
    job = client.submit(project_id, "", CHUNKS, api_name="/generate")
    job.result(timeout=300)
    outputs = job.outputs()

    # Streamed: one output per finished chunk (live segment + timeline), then Done.
    streamed = [re.search(r"(s\S+): chunk (\d+) ready", o[-1]) for o in outputs[:-1]]
    made = sorted((m.group(1), int(m.group(2))) for m in streamed if m)
    assert made == [(scene, index) for scene in sorted(scene_ids) for index in range(CHUNKS)], outputs
    assert all(o[0] is not None for o, m in zip(outputs, streamed) if m)  # each chunk's live segment
    assert outputs[-1][-1].startswith(f"Done: {2 * CHUNKS} new chunks")
    (cluster,) = service._CONNECTED.values()
    assert cluster.size == 2 and sorted(cluster.free, key=id) == sorted(cluster.actors, key=id)  # all back

    # The project: every chunk ready and bit-identical to the in-process run.
    project = load_project(folder)
    for scene in project.script.scenes:
        assert [c.status for c in scene.chunks] == ["ready"] * CHUNKS
        for chunk in scene.chunks:
            assert np.array_equal(load_frames(chunk_npz(folder, scene.id, chunk.index)),
                                  load_frames(chunk_npz(reference, scene.id, chunk.index))), (scene.id, chunk.index)


def test_stop_ends_the_workers_scenes_keeping_finished_chunks(cluster_studio):
    from studio.cluster import service
    from studio.project.model import load_project
    from studio.ui.state import SessionState

    demo, _ = cluster_studio
    handlers, session, request = demo.studio.handlers, SessionState(), fake_request("stopper")
    project_id, *_ = handlers.plan(PROMPT, "rules", 2, session, request)
    updates = handlers.generate(project_id, "", 4, session, request)
    first = next(updates)
    assert "chunk 0 ready" in first[-1]
    handlers.stop(session)
    *_, last = updates
    assert last[-1].startswith("Stopped after"), last[-1]
    folder = handlers.workspace.locate("stopper", project_id)
    chunks = [(s.id, c) for s in load_project(folder).script.scenes for c in s.chunks]
    assert 1 <= len(chunks) < 8 and all(chunk_npz(folder, s, c.index).is_file() for s, c in chunks if c.status == "ready")
    (cluster,) = service._CONNECTED.values()
    assert len(cluster.free) == cluster.size == 2  # the stopped scenes handed their workers back
    # Continue resumes where the stop left off, on the workers.
    *_, done = handlers.generate(project_id, "", 4, session, request)
    assert done[-1].startswith("Done:")
    assert [c.status for s in load_project(folder).script.scenes for c in s.chunks] == ["ready"] * 8
