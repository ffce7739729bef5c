"""The Generate tab's takes and approval, driven by a real gradio_client against the served studio."""

from __future__ import annotations

import numpy as np

from studio.media.video import load_frames
from tests.chunk_files import chunk_npz


def project_folder(demo, project_id):
    return next(path.parent for path in demo.studio.workspace.sessions_root.rglob("project.json")
                if path.parent.name == project_id)


def generated_scene(url, prompt, *, chunks):
    """A new client, a one-scene project planned from `prompt`, and that scene generated to `chunks` chunks."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    project_id, scenes, _, _ = client.predict(prompt, "rules", 1, api_name="/plan")
    scene_id = scenes["data"][0][0]
    list(client.submit(project_id, scene_id, chunks, api_name="/generate"))
    return client, project_id, scene_id


def statuses(rows):
    return [row[1] for row in rows["data"]]


def test_takes_switch_back_bit_for_bit_and_approval_shows_in_the_table(served_studio):
    demo, url = served_studio
    client, project_id, scene_id = generated_scene(url, "A fox runs through the snow.", chunks=3)
    folder = project_folder(demo, project_id)
    original = load_frames(chunk_npz(folder, scene_id, 1))
    later = chunk_npz(folder, scene_id, 2).read_bytes()

    _, _, rows, _, message = client.predict(project_id, scene_id, 1, 4242, "", api_name="/regenerate_chunk")
    assert "as take 2" in message and statuses(rows) == ["ready", "ready", "stale"]
    assert rows["data"][1][3] == "2 of 2"  # the takes column
    assert not np.array_equal(load_frames(chunk_npz(folder, scene_id, 1)), original)

    gallery, _, rows, _, message = client.predict(project_id, scene_id, 1, 1, api_name="/use_take")
    assert len(gallery) == 2 and "take 1" in message and "ready again: 2" in message
    assert np.array_equal(load_frames(chunk_npz(folder, scene_id, 1)), original)  # the original, bit for bit
    assert chunk_npz(folder, scene_id, 2).read_bytes() == later  # chunk 2 was made from it: ready, not remade
    assert statuses(rows) == ["ready", "ready", "ready"] and rows["data"][1][3] == "1 of 2"

    _, rows, message = client.predict(project_id, scene_id, 1, api_name="/approve_chunk")
    assert rows["data"][1][2] == "approved" and "approved" in message
    _, rows, _ = client.predict(project_id, scene_id, 2, api_name="/reject_chunk")
    assert [row[2] for row in rows["data"]] == ["pending", "approved", "rejected"]


def test_keep_later_keeps_the_later_chunk_ready_and_reports_the_seam(served_studio):
    demo, url = served_studio
    client, project_id, scene_id = generated_scene(url, "An owl sits on a branch.", chunks=2)
    _, _, rows, _, message = client.predict(project_id, scene_id, 0, 777, "", True, api_name="/regenerate_chunk")
    assert statuses(rows) == ["ready", "ready"] and "seam with chunk 1 healed: score" in message
    assert rows["data"][1][3] == "2 of 2"  # the healed chunk 1 is a new take; its old version is kept

    # A take that does not exist: one line, nothing changes.
    before = (project_folder(demo, project_id) / "project.json").read_bytes()
    try:
        client.predict(project_id, scene_id, 0, 9, api_name="/use_take")
    except Exception as error:  # noqa: BLE001 - gradio_client raises AppError with the server's one line
        assert "take 9" in str(error)
    else:
        raise AssertionError("switching to a take that does not exist was accepted")
    assert (project_folder(demo, project_id) / "project.json").read_bytes() == before
