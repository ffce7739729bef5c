"""One session cannot take the queue: a cap of model jobs per session, and light events outside the model queue.

Real gradio_client sessions against a studio on 127.0.0.1 whose running generate job waits at a gate
(inside the real stage), so the queue stays as full as the test made it while it looks.
"""

from __future__ import annotations

import dataclasses
import threading

import pytest

from tests.ui.conftest import free_port
from tests.ui.test_load import wait_for

JOIN_SECONDS = 120


@pytest.fixture
def gated_studio(tmp_path, tiny_preset, monkeypatch):
    """A studio (2 model jobs may wait, 2 per session) whose generate jobs wait until `gate` is set."""
    import studio.generate.stage as streaming
    from studio.ui import build_app, launch_options, queue

    gate = threading.Event()
    real_generate_scene = streaming.generate_scene

    def gated_generate_scene(*args, **kwargs):
        assert gate.wait(timeout=JOIN_SECONDS)
        yield from real_generate_scene(*args, **kwargs)

    monkeypatch.setattr(streaming, "generate_scene", gated_generate_scene)
    monkeypatch.setenv("STUDIO_QUEUE_SIZE", "2")
    streaming_settings = dataclasses.replace(tiny_preset.streaming, width=16, height=16, steps=2, max_chunks=4)
    preset = dataclasses.replace(tiny_preset, streaming=streaming_settings)
    demo = queue(build_app(preset, projects_root=tmp_path / "projects", preset_reason="fairness"))
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True,
                            **launch_options(demo))
    try:
        yield demo, url, gate
    finally:
        gate.set()
        demo.close()


def join(url, client, api_name: str, data: list):
    """A raw queue/join for `client`'s session, as the page sends it: (status code, body)."""
    import httpx

    config = httpx.get(f"{url}config", timeout=10).json()
    fn_index = next(d["id"] for d in config["dependencies"] if d.get("api_name") == api_name)
    reply = httpx.post(f"{url}gradio_api/queue/join", timeout=10, json={
        "data": data, "fn_index": fn_index, "session_hash": client.session_hash, "event_data": None})
    return reply.status_code, reply.text


def test_a_session_over_its_cap_is_refused_and_others_still_run(gated_studio):
    import httpx
    from gradio_client import Client
    from gradio_client.utils import QueueError

    demo, url, gate = gated_studio
    assert demo.studio.queue_guard.jobs_per_session == 2 and demo.studio.queue_guard.max_waiting == 2
    greedy, polite, late = (Client(url, verbose=False) for _ in range(3))
    plans = {c: c.predict(f"a kite number {i}", "rules", 1, api_name="/plan") for i, c in enumerate((greedy, polite, late))}

    def generate(client, chunks: int = 1):
        project_id, scenes, *_ = plans[client]
        return client.submit(project_id, scenes["data"][0][0], chunks, api_name="/generate")

    running = generate(greedy)
    wait_for(lambda: running.status().code.value in ("PROGRESS", "PROCESSING", "ITERATING"))
    waiting = generate(greedy, chunks=2)  # the same scene: one chunk more
    wait_for(lambda: waiting.status().code.value == "IN_QUEUE" and waiting.status().rank is not None)

    # A third job of the same session: refused at once, in one line that says what to do.
    with pytest.raises(httpx.HTTPStatusError, match="400"):
        greedy.predict(plans[greedy][0], "", 1, api_name="/generate")
    status, body = join(url, greedy, "generate", [plans[greedy][0], "", 1, None])
    assert status == 400 and "you already have 2 jobs queued; wait or stop one" in body
    assert demo.studio.queue_guard.session_jobs(greedy.session_hash) == 2  # the refused jobs left no trace

    # Another session still gets in line, behind greedy's waiting job.
    theirs = generate(polite)
    wait_for(lambda: theirs.status().code.value == "IN_QUEUE" and theirs.status().rank is not None)
    assert (theirs.status().rank, theirs.status().queue_size) == (1, 2)
    # The model queue is now full: a new model job is refused, but Open (a light event) still works.
    with pytest.raises(QueueError, match="Queue is full"):
        late.predict(plans[late][0], "", 1, api_name="/generate")
    assert late.predict(plans[late][0], api_name="/open")[0] == plans[late][0]
    assert greedy.predict(plans[greedy][0], api_name="/open")[0] == plans[greedy][0]
    assert running.status().code.value != "FINISHED"  # all of that while the first job still ran

    gate.set()
    for job in (running, waiting, theirs):
        job.result(timeout=JOIN_SECONDS)
        assert job.outputs()[-1][-1].startswith("Done: 1 new chunk")
    # With its jobs done, the greedy session may queue again.
    assert greedy.predict(plans[greedy][0], "", 3, api_name="/generate")[-1].startswith("Done: 1 new chunk")


def test_jobs_per_session_from_the_environment(monkeypatch):
    from studio.errors import StudioError
    from studio.ui.queue_guard import DEFAULT_JOBS_PER_SESSION, jobs_per_session

    monkeypatch.delenv("STUDIO_JOBS_PER_SESSION", raising=False)
    assert jobs_per_session() == DEFAULT_JOBS_PER_SESSION == 2
    monkeypatch.setenv("STUDIO_JOBS_PER_SESSION", " 5 ")
    assert jobs_per_session() == 5
    for bad in ("0", "-1", "two", "1.5"):
        monkeypatch.setenv("STUDIO_JOBS_PER_SESSION", bad)
        with pytest.raises(StudioError, match="STUDIO_JOBS_PER_SESSION must be a whole number of at least 1") as info:
            jobs_per_session()
        assert "\n" not in str(info.value)
