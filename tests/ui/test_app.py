"""The studio served on 127.0.0.1 and driven by a real gradio_client, as an API user would."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

NAMED_ENDPOINTS = {"/plan", "/references", "/generate", "/regenerate_chunk", "/refine", "/export"}


def test_app_builds_on_tiny_with_named_endpoints(tiny_preset, tmp_path):
    from studio.ui import build_app, launch_options

    demo = build_app(tiny_preset, projects_root=tmp_path / "projects")
    public = {f"/{fn.api_name}" for fn in demo.fns.values() if fn.api_name and fn.api_visibility == "public"}
    assert NAMED_ENDPOINTS <= public
    # Model events share one GPU lock; the header names the preset.
    heavy = [fn for fn in demo.fns.values() if f"/{fn.api_name}" in NAMED_ENDPOINTS]
    assert {fn.concurrency_id for fn in heavy} == {"gpu"} and {fn.concurrency_limit for fn in heavy} == {1}
    headers = [b.value for b in demo.blocks.values() if type(b).__name__ == "HTML" and "studio-header" in str(b.value)]
    assert len(headers) == 1 and "preset <b>tiny</b>" in headers[0]
    options = launch_options(demo)
    assert options["allowed_paths"] == [str((tmp_path / "projects").resolve()), str(Path("assets").resolve())]
    assert options["max_file_size"]


def test_client_runs_all_five_stages(served_studio):
    from gradio_client import Client

    demo, url = served_studio
    client = Client(url, verbose=False)
    endpoints = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert NAMED_ENDPOINTS <= endpoints

    project_id, scenes, entities, message = client.predict(
        "A fox runs through the snow. An owl watches it.", "rules", 1, api_name="/plan")
    assert project_id.startswith("p-") and len(scenes["data"]) == 1 and "Planned 1 scene and" in message
    scene_id = scenes["data"][0][0]

    gallery, message = client.predict(project_id, "", None, True, api_name="/references")
    assert len(gallery) == 1 and "references made" in message

    job = client.submit(project_id, scene_id, 2, api_name="/generate")
    updates = list(job)
    segments = [u[0] for u in updates if isinstance(u[0], str)]
    assert len(segments) >= 2 and all(s.endswith(".m3u8") for s in segments)  # streamed as HLS
    assert "Done: 2 new chunks" in updates[-1][-1]
    assert [row[1] for row in updates[-1][2]["data"]][:2] == ["ready", "ready"]  # Chunks 2: the first two, this time
    assert video_path(updates[-1][3]).endswith("draft.mp4")

    preview, timeline, rows, draft, message = client.predict(project_id, scene_id, 0, 4242, "", api_name="/regenerate_chunk")
    assert video_path(preview).endswith(".mp4") and "seed 4242" in message
    assert [row[1] for row in rows["data"]][:2] == ["ready", "stale"] and "stale" in message
    # Continue remakes the stale chunk (still the first two only).
    updates = list(client.submit(project_id, scene_id, 2, api_name="/generate"))
    assert [row[1] for row in updates[-1][2]["data"]][:2] == ["ready", "ready"]

    before, after, xt_slice, message = client.predict(project_id, scene_id, "randomized", 0.5, 7, api_name="/refine")
    assert video_path(before).endswith("draft.mp4") and video_path(after).endswith("refined.mp4")
    assert Path(xt_slice).suffix == ".png" and "Seam score" in message

    final, scene_files, archive, metrics, plots = client.predict(project_id, False, api_name="/export")
    assert video_path(final).endswith("final.mp4") and len(scene_files) == 1 and archive.endswith(".zip")
    assert "frames" in metrics

    session_dirs = list((demo.studio.workspace.sessions_root).iterdir())
    assert any((d / project_id / "project.json").is_file() for d in session_dirs)


def test_two_concurrent_sessions_never_see_each_others_projects(served_studio):
    from gradio_client import Client

    demo, url = served_studio
    clients = [Client(url, verbose=False), Client(url, verbose=False)]
    ids: dict[int, str] = {}

    def plan(i: int) -> None:
        ids[i] = client_plan(clients[i], f"Session {i}: a lighthouse at night.")

    threads = [threading.Thread(target=plan, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(ids) == 2 and ids[0] != ids[1]
    workspace = demo.studio.workspace
    folders = {i: next(workspace.sessions_root.glob(f"*/{ids[i]}")) for i in ids}
    assert folders[0].parent != folders[1].parent  # one folder per session
    for me, other in ((0, 1), (1, 0)):
        for endpoint, args in (("/open", (ids[other],)), ("/references", (ids[other], "", None, False)),
                               ("/export", (ids[other], False))):
            with pytest.raises(Exception, match="no project"):
                clients[me].predict(*args, api_name=endpoint)
        with pytest.raises(Exception, match="not valid"):
            clients[me].predict(f"../_sessions/{ids[other]}", api_name="/open")
        assert clients[me].predict(ids[me], api_name="/open")[0] == ids[me]


def client_plan(client, prompt: str) -> str:
    return client.predict(prompt, "rules", 1, api_name="/plan")[0]


def video_path(value) -> str:
    """gradio_client gives a video as a path (or, in some versions, a dict holding it)."""
    return value["video"] if isinstance(value, dict) else value


def test_default_preset_needs_cuda_and_the_hub(monkeypatch):
    import torch

    import app

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert app.default_preset()[0] == "animatic"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert not app.hub_reachable()
    name, reason = app.default_preset()
    assert name == "animatic" and "Hub" in reason
    monkeypatch.setattr(app, "hub_reachable", lambda timeout=2.0: True)
    assert app.default_preset()[0] == "gpu"
