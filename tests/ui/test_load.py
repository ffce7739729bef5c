"""Many users at once: concurrent gradio_client sessions against the studio served on 127.0.0.1.

Four sessions plan and generate side by side on the tiny preset. Every model event shares one GPU
lock, so the generate jobs wait in the queue: each waiting user must be told their place (rank,
queue size), no job may be lost, and no session may see another's project. A second app with a queue
of one waiting job shows that the queue is bounded and that the job over the bound is refused at once
with a clear message.
"""

from __future__ import annotations

import re
import threading
import time

import numpy as np
import pytest

from tests.ui.conftest import free_port

SESSIONS = 4
CHUNKS = 2
JOIN_SECONDS = 150


def launch(root, max_size: int | None = None):
    from studio.config import load_preset
    from studio.ui import build_app, launch_options, queue

    demo = queue(build_app(load_preset("tiny"), projects_root=root, preset_reason="load test"), max_size=max_size)
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True,
                            **launch_options(demo))
    return demo, url


def watch(job) -> list[tuple[str, int | None, int | None]]:
    """Poll a job until it ends; every (status, rank, queue size) it went through, in order."""
    seen = []
    deadline = time.monotonic() + JOIN_SECONDS
    while not job.done() and time.monotonic() < deadline:
        status = job.status()
        entry = (status.code.value, status.rank, status.queue_size)
        if not seen or seen[-1] != entry:
            seen.append(entry)
        time.sleep(0.01)
    return seen


def queue_places(seen) -> list[tuple[int, int]]:
    return [(rank, size) for code, rank, size in seen if code == "IN_QUEUE" and rank is not None]


def test_four_sessions_plan_and_generate_at_once(tmp_path):
    from gradio_client import Client

    from studio.media.video import load_scene_frames
    from studio.project.model import load_project

    demo, url = launch(tmp_path / "projects")
    try:
        clients = [Client(url, verbose=False) for _ in range(SESSIONS)]
        prompts = [f"Session {i}: a paper boat number {i} drifts down a rainy street." for i in range(SESSIONS)]
        ids: dict[int, str] = {}
        results: dict[int, dict] = {}
        errors: list[BaseException] = []
        everyone_planned = threading.Barrier(SESSIONS, timeout=JOIN_SECONDS)

        def session(i: int) -> None:
            try:
                ids[i], scenes, _, _ = clients[i].predict(prompts[i], "rules", 1, api_name="/plan")
                everyone_planned.wait()  # the generate jobs reach the queue together
                job = clients[i].submit(ids[i], scenes["data"][0][0], CHUNKS, api_name="/generate")
                seen = watch(job)
                job.result(timeout=JOIN_SECONDS)  # raises what the job raised
                results[i] = {"seen": seen, "outputs": job.outputs(), "scene": scenes["data"][0][0]}
            except BaseException as error:  # noqa: BLE001 - reported by the main thread
                errors.append(error)
                everyone_planned.abort()

        threads = [threading.Thread(target=session, args=(i,), daemon=True) for i in range(SESSIONS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=JOIN_SECONDS)
        assert not errors, errors
        assert sorted(results) == list(range(SESSIONS)), "a job was lost"
        assert len(set(ids.values())) == SESSIONS

        # No job is lost: every session got its own chunks streamed, then "Done".
        for i, result in results.items():
            outputs = result["outputs"]
            assert outputs[-1][-1].startswith(f"Done: {CHUNKS} new chunks")
            assert [row[1] for row in outputs[-1][2]["data"]] == ["ready"] * CHUNKS
            streamed = [re.search(r"chunk (\d+) ready \((\d+) frames", o[-1]) for o in outputs[:-1]]
            assert [int(m.group(1)) for m in streamed if m] == list(range(CHUNKS))
            result["frames"] = sum(int(m.group(2)) for m in streamed if m)

        # The queue told the waiting users their place: one job runs, the others wait with a rank.
        places = {i: queue_places(r["seen"]) for i, r in results.items()}
        waited = [i for i in places if places[i]]
        assert len(waited) >= SESSIONS - 2, places  # at most one runs at once; allow one to slip in as another ends
        for i in waited:
            ranks = [rank for rank, _ in places[i]]
            assert all(0 <= rank < size <= SESSIONS for rank, size in places[i]), places[i]
            assert ranks == sorted(ranks, reverse=True), f"session {i}'s place went backwards: {ranks}"
        assert 0 in {rank for i in waited for rank, _ in places[i]}

        # Each project lives in its own session folder, holds its own prompt and its own frames.
        workspace = demo.studio.workspace
        folders = {i: list(workspace.sessions_root.glob(f"*/{ids[i]}")) for i in ids}
        assert all(len(found) == 1 for found in folders.values()), folders
        assert len({found[0].parent for found in folders.values()}) == SESSIONS
        drafts = {}
        for i, (folder,) in folders.items():
            project = load_project(folder)
            assert project.script.prompt == prompts[i]
            scene = project.script.scene(results[i]["scene"])
            assert [c.status for c in scene.chunks] == ["ready"] * CHUNKS
            drafts[i] = load_scene_frames(folder, scene)
            assert drafts[i].shape[0] == results[i]["frames"]
        for i in drafts:
            for j in drafts:
                if i < j:
                    assert not np.array_equal(drafts[i], drafts[j]), f"sessions {i} and {j} got the same frames"

        # No session can open or use another's project, by id or by path.
        for me in range(SESSIONS):
            other = ids[(me + 1) % SESSIONS]
            with pytest.raises(Exception, match="no project"):
                clients[me].predict(other, api_name="/open")
            with pytest.raises(Exception, match="no project"):
                clients[me].predict(other, "", 1, api_name="/generate")
            with pytest.raises(Exception, match="not valid"):
                clients[me].predict(f"../_sessions/{other}", api_name="/open")
            assert clients[me].predict(ids[me], api_name="/open")[0] == ids[me]
    finally:
        demo.close()


def test_queue_is_bounded_and_refuses_the_extra_job_clearly(tmp_path, monkeypatch):
    import httpx
    from gradio_client import Client
    from gradio_client.exceptions import AppError
    from gradio_client.utils import QueueError

    import studio.generate.stage as streaming
    from studio.ui import app as ui_app

    monkeypatch.setenv("STUDIO_QUEUE_SIZE", "1")
    assert ui_app.queue_size() == 1
    # The running job waits at this gate (inside the real generate), so the queue stays full while we look.
    gate = threading.Event()
    real_generate_scene = streaming.generate_scene

    def gated_generate_scene(*args, **kwargs):
        assert gate.wait(timeout=JOIN_SECONDS)
        yield from real_generate_scene(*args, **kwargs)

    monkeypatch.setattr(streaming, "generate_scene", gated_generate_scene)
    demo, url = launch(tmp_path / "projects")
    try:
        assert demo.studio.queue_guard.max_waiting == 1  # model jobs; light events are not counted
        clients = [Client(url, verbose=False) for _ in range(3)]
        plans = [c.predict(f"User {i}: a kite over a beach.", "rules", 1, api_name="/plan") for i, c in enumerate(clients)]
        running = clients[0].submit(plans[0][0], plans[0][1]["data"][0][0], 1, api_name="/generate")
        wait_for(lambda: running.status().code.value in ("PROGRESS", "PROCESSING", "ITERATING"))
        waiting = clients[1].submit(plans[1][0], plans[1][1]["data"][0][0], 1, api_name="/generate")
        wait_for(lambda: waiting.status().code.value == "IN_QUEUE" and waiting.status().rank is not None)
        status = waiting.status()
        assert (status.rank, status.queue_size) == (0, 1)  # told: first in line, one waiting

        # The third job finds the queue full: refused at once, with a message saying so.
        with pytest.raises((QueueError, AppError), match="Queue is full"):
            clients[2].predict(plans[2][0], plans[2][1]["data"][0][0], 1, api_name="/generate")
        assert running.status().code.value != "FINISHED"  # refused while the first job still ran: no wait in line
        config = httpx.get(f"{url}config", timeout=10).json()
        generate_fn = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "generate")
        reply = httpx.post(f"{url}gradio_api/queue/join", timeout=10, json={
            "data": [plans[2][0], "", 1, None], "fn_index": generate_fn, "session_hash": "probe", "event_data": None})
        assert reply.status_code == 503 and "Queue is full" in reply.text

        # Nothing accepted is lost: both jobs finish once the gate opens.
        gate.set()
        for job in (running, waiting):
            job.result(timeout=JOIN_SECONDS)
            assert job.outputs()[-1][-1].startswith("Done: 1 new chunk")
        # The refused user can try again once there is room.
        assert clients[2].predict(plans[2][0], "", 1, api_name="/generate")[-1].startswith("Done: 1 new chunk")
    finally:
        gate.set()
        demo.close()


def test_queue_size_from_the_environment(monkeypatch):
    from studio.errors import StudioError
    from studio.ui.app import DEFAULT_QUEUE_SIZE, queue_size

    monkeypatch.delenv("STUDIO_QUEUE_SIZE", raising=False)
    assert queue_size() == DEFAULT_QUEUE_SIZE
    monkeypatch.setenv("STUDIO_QUEUE_SIZE", " 7 ")
    assert queue_size() == 7
    for bad in ("0", "-3", "many", "1.5"):
        monkeypatch.setenv("STUDIO_QUEUE_SIZE", bad)
        with pytest.raises(StudioError, match="STUDIO_QUEUE_SIZE") as info:
            queue_size()
        assert "\n" not in str(info.value)


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the queue"
        time.sleep(0.02)
