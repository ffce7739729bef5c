"""One session (or one address) cannot take the queue: caps of model jobs per session and per client
address, and light events outside the model queue.

Real gradio_client sessions against a studio on 127.0.0.1 whose running generate job waits at a gate
(inside the real stage), so the queue stays as full as the test made it while it looks. Every refusal is
checked on a raw queue/join, which answers at once: a cap that lets a job through fails the assertion on
its status code, never by a wait timing out.
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


def join(url, client, api_name: str, data: list, from_address: str = "127.0.0.1"):
    """A raw queue/join, as the page sends it, for `client`'s session (or a session id of its own when
    `client` is a string), from a loopback address of the test's choice: (status code, body)."""
    import httpx

    config = httpx.get(f"{url}config", timeout=10).json()
    fn_index = next(d["id"] for d in config["dependencies"] if d.get("api_name") == api_name)
    session_hash = client if isinstance(client, str) else client.session_hash
    with httpx.Client(transport=httpx.HTTPTransport(local_address=from_address), timeout=10) as http:
        reply = http.post(f"{url}gradio_api/queue/join", json={
            "data": data, "fn_index": fn_index, "session_hash": session_hash, "event_data": None})
    return reply.status_code, reply.text


def test_a_session_over_its_cap_is_refused_and_others_still_run(gated_studio):
    """Catches: the per-session cap not counted (a third job joins: status 200, not 400) and the model
    queue's bound not applied (a job joins a full queue: 200, not 503), each on the join's own answer."""
    from gradio_client import Client

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
    status, body = join(url, greedy, "generate", [plans[greedy][0], "", 1, None])
    assert status == 400 and "you already have 2 jobs queued; wait or stop one" in body
    assert demo.studio.queue_guard.session_jobs(greedy.session_hash) == 2  # the refused job left no trace

    # Another session still gets in line, behind greedy's waiting job.
    theirs = generate(polite)
    wait_for(lambda: theirs.status().code.value == "IN_QUEUE" and theirs.status().rank is not None)
    assert (theirs.status().rank, theirs.status().queue_size) == (1, 2)
    # The model queue is now full: a new model job is refused, but Open (a light event) still works.
    status, body = join(url, late, "generate", [plans[late][0], "", 1, None])
    assert status == 503 and "Queue is full. Max size is 2 and size is 2." in body
    assert demo.studio.queue_guard.waiting(model=True) == 2
    assert late.predict(plans[late][0], api_name="/open")[0] == plans[late][0]
    assert greedy.predict(plans[greedy][0], api_name="/open")[0] == plans[greedy][0]
    assert running.status().code.value != "FINISHED"  # all of that while the first job still ran

    gate.set()
    for job in (running, waiting, theirs):
        job.result(timeout=JOIN_SECONDS)
        assert job.outputs()[-1][-1].startswith("Done: 1 new chunk")
    # With its jobs done, the greedy session may queue again.
    assert greedy.predict(plans[greedy][0], "", 3, api_name="/generate")[-1].startswith("Done: 1 new chunk")


def test_session_ids_minted_by_one_address_share_its_cap(gated_studio):
    """Catches: fairness keyed only on the session id the client picks, so one client minting fresh session
    ids queues as many jobs as it likes (32 ids: 64 jobs). The address cap is 4 here: the fifth job of
    127.0.0.1 is refused whatever its session id, while another address still gets in line."""
    from gradio_client import Client

    demo, url, gate = gated_studio
    guard = demo.studio.queue_guard
    guard.max_waiting = 8  # room in the queue: only the address cap can refuse
    assert guard.jobs_per_address == 4
    owner = Client(url, verbose=False)
    project_id, scenes, *_ = owner.predict("a kite", "rules", 1, api_name="/plan")
    running = owner.submit(project_id, scenes["data"][0][0], 1, api_name="/generate")
    wait_for(lambda: running.status().code.value in ("PROGRESS", "PROCESSING", "ITERATING"))
    data = [project_id, "", 1, None]
    for minted in ("minted-1", "minted-2", "minted-3"):
        assert join(url, minted, "generate", data)[0] == 200
    assert guard.address_jobs("127.0.0.1") == 4
    status, body = join(url, "minted-4", "generate", data)
    assert status == 400 and "your address already has 4 jobs queued; wait or stop one" in body
    assert guard.address_jobs("127.0.0.1") == 4 and guard.session_jobs("minted-4") == 0
    assert join(url, "elsewhere", "generate", data, from_address="127.0.0.2")[0] == 200
    assert guard.address_jobs("127.0.0.2") == 1
    gate.set()  # the minted sessions' jobs end at once (the project is not theirs); the queue drains
    running.result(timeout=JOIN_SECONDS)
    wait_for(lambda: guard.address_jobs("127.0.0.1") == guard.address_jobs("127.0.0.2") == 0)


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
