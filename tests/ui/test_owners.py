"""Saved projects have an owner: other sessions open them as copies and can change nothing of them.

Real gradio_client sessions against one studio served on 127.0.0.1 (tiny models at 16x16, so a chunk
takes a blink). Every attempt of an intruder is checked on disk: the saved folder, its project.json
and its backup stay byte for byte what they were.
"""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from tests.ui.conftest import free_port

PROMPT = "A fox runs through the snow."


@pytest.fixture(scope="module")
def studio(tmp_path_factory, tiny_preset):
    from studio.ui import build_app, launch_options, queue

    streaming = dataclasses.replace(tiny_preset.streaming, width=16, height=16, steps=2, max_chunks=4)
    preset = dataclasses.replace(tiny_preset, streaming=streaming)
    demo = queue(build_app(preset, projects_root=tmp_path_factory.mktemp("projects"), preset_reason="owners"))
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True,
                            **launch_options(demo))
    try:
        yield demo, url
    finally:
        demo.close()


def client(url):
    from gradio_client import Client

    return Client(url, verbose=False)


def folder_digest(folder) -> dict[str, str]:
    """Every file under `folder` (the dot-files too) and the SHA-256 of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def plan_and_save(owner, name: str) -> str:
    project_id, scenes, _, _ = owner.predict(PROMPT, "rules", 1, api_name="/plan")
    assert owner.predict(project_id, name, api_name="/save")[0] == name
    return scenes["data"][0][0]


def test_another_session_changes_nothing_of_a_saved_project(studio):
    from gradio_client.exceptions import AppError

    demo, url = studio
    alice, bob = client(url), client(url)
    scene_id = plan_and_save(alice, "alice-film")
    alice.predict("alice-film", scene_id, 1, api_name="/generate")  # a chunk and its draft: something to lose
    saved = demo.studio.workspace.root / "alice-film"
    assert (saved / "project.json.bak").is_file()
    before = folder_digest(saved)
    owner_file = (saved / ".owner").read_text().strip()
    assert len(owner_file) == 64 and int(owner_file, 16) >= 0  # a SHA-256, never the key itself

    empty = {"headers": ["id"], "data": []}
    attempts = {
        "/generate": ("alice-film", scene_id, 2),
        "/regenerate_chunk": ("alice-film", scene_id, 0, 7, ""),
        "/apply_script": ("alice-film", PROMPT, empty, empty),  # emptying it
        "/references": ("alice-film", "", None, False),
        "/remake_scene_images": ("alice-film",),
        "/refine": ("alice-film", scene_id, "randomized", 0.5, 7),
        "/export": ("alice-film", False),
        "/save": ("alice-film", ""),  # saving it again, over itself
    }
    for endpoint, args in attempts.items():
        with pytest.raises(AppError, match="saved project of another session.*press Open to work on a copy"):
            bob.predict(*args, api_name=endpoint)
    # Nor can Bob's own project overwrite it or take its name.
    bob_id, *_ = bob.predict("An owl sleeps.", "rules", 1, api_name="/plan")
    with pytest.raises(AppError, match="belongs to another session; pick another name"):
        bob.predict(bob_id, "alice-film", api_name="/save")
    assert folder_digest(saved) == before

    # Opened by Bob, it is a copy in Bob's session: his work goes there, never into Alice's project.
    copy_id, message = bob.predict("alice-film", api_name="/open")
    assert copy_id.startswith("p-") and "belongs to another session: opened a copy" in message
    copies = list(demo.studio.workspace.sessions_root.glob(f"*/{copy_id}"))
    assert len(copies) == 1 and not (copies[0] / ".owner").exists()
    assert bob.predict(copy_id, scene_id, 2, api_name="/generate")[-1].startswith("Done: 1 new chunk")
    assert folder_digest(saved) == before
    assert bob.predict(copy_id, "bobs-film", api_name="/save")[0] == "bobs-film"  # his to keep, under his name

    # The owner still works on it in place.
    assert alice.predict("alice-film", api_name="/open")[0] == "alice-film"
    assert alice.predict("alice-film", scene_id, 2, api_name="/generate")[-1].startswith("Done: 1 new chunk")
    assert folder_digest(saved) != before


def test_a_session_id_cannot_be_taken_as_a_saved_name(studio):
    from gradio_client.exceptions import AppError

    demo, url = studio
    alice, mallory = client(url), client(url)
    alice_id, *_ = alice.predict(PROMPT, "rules", 1, api_name="/plan")
    mallory_id, *_ = mallory.predict("A crow waits.", "rules", 1, api_name="/plan")
    with pytest.raises(AppError, match="id of another session's project; pick another name"):
        mallory.predict(mallory_id, alice_id, api_name="/save")
    assert not (demo.studio.workspace.root / alice_id).exists()
    assert alice.predict(alice_id, "", api_name="/save")[0] == alice_id  # Alice saves under her own id


def test_a_project_saved_before_owners_is_a_template(studio):
    from gradio_client.exceptions import AppError

    demo, url = studio
    alice = client(url)
    scene_id = plan_and_save(alice, "old-film")
    saved = demo.studio.workspace.root / "old-film"
    (saved / ".owner").unlink()  # as the studio saved projects before they had owners
    before = folder_digest(saved)
    with pytest.raises(AppError, match="saved before projects had owners"):
        alice.predict("old-film", scene_id, 1, api_name="/generate")
    copy_id, message = alice.predict("old-film", api_name="/open")
    assert copy_id != "old-film" and "opened a copy" in message
    assert folder_digest(saved) == before


def test_owner_key_stays_in_the_session_and_out_of_the_archive(tmp_path):
    import zipfile

    from studio.export.archive import export_archive
    from studio.project.model import Project, Script, save_project
    from studio.ui import owners
    from studio.ui.state import SessionState, Workspace

    workspace = Workspace(tmp_path / "projects")
    owner, stranger = SessionState(), SessionState()
    project_id, folder = workspace.new_project_dir("alice")
    save_project(Project(id=project_id, preset="tiny", script=Script(prompt="p")), folder)
    _, saved = owners.save(workspace, "alice", owner, project_id, "kept")
    key = owner.owner_key
    assert key and len(key) >= 32 and key not in (saved / owners.OWNER_FILE).read_text()
    assert key not in repr(owner)
    assert owners.owns(saved, owner) and not owners.owns(saved, stranger) and not owners.owns(saved, None)
    with zipfile.ZipFile(export_archive(saved, tmp_path / "kept.zip")) as archive:
        assert owners.OWNER_FILE not in {name.rsplit("/", 1)[-1] for name in archive.namelist()}
