"""Saved work belongs to a person: an account's projects follow it across browsers, others get copies,
and what a visitor leaves behind goes away (its folder and gradio's served copies of its files).

Real gradio_client sessions against one studio served on 127.0.0.1 (tiny models at 16x16). A signed-in
account is simulated where gradio reads it: `visitors.oauth_userinfo` (which reads gradio's OAuth cookie
session) is replaced by one that reads the user info from a request header each client sends, so every
layer above the cookie (the handlers, the workspace, the owner files) is the real one.
"""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from tests.ui.conftest import free_port
from tests.ui.test_owners import PROMPT, folder_digest

ACCOUNT_HEADER = "x-test-account"


def _real_oauth_userinfo():
    from studio.ui import visitors

    return visitors.oauth_userinfo


REAL_OAUTH_USERINFO = _real_oauth_userinfo()  # taken before the studio fixture replaces it


@pytest.fixture(scope="module")
def studio(tmp_path_factory, tiny_preset):
    from studio.ui import build_app, launch_options, queue, visitors

    def userinfo_from_header(request):
        account = (getattr(request, "headers", None) or {}).get(ACCOUNT_HEADER)
        return {"sub": f"id-{account}", "preferred_username": account} if account else None

    streaming = dataclasses.replace(tiny_preset.streaming, width=16, height=16, steps=2, max_chunks=4)
    preset = dataclasses.replace(tiny_preset, streaming=streaming)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(visitors, "oauth_userinfo", userinfo_from_header)
        demo = queue(build_app(preset, projects_root=tmp_path_factory.mktemp("projects"), preset_reason="visitors"))
        _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(),
                                quiet=True, **launch_options(demo))
        try:
            yield demo, url
        finally:
            demo.close()


def client(url, account: str | None = None):
    from gradio_client import Client

    return Client(url, verbose=False, headers={ACCOUNT_HEADER: account} if account else None)


def test_two_browsers_of_one_account_share_its_projects_and_another_account_gets_a_copy(studio):
    """Catches: ownership tied to the tab (a per-session key), so the same account in a second browser is
    refused its own saved project and cannot see its unsaved ones; and an account's ownership leaking to
    another account (or to an anonymous client)."""
    from gradio_client.exceptions import AppError

    demo, url = studio
    laptop, phone, other, anonymous = client(url, "ada"), client(url, "ada"), client(url, "bob"), client(url)
    unsaved_id, scenes, _, _ = laptop.predict(PROMPT, "rules", 1, api_name="/plan")
    scene_id = scenes["data"][0][0]
    # Unsaved: the other browser of the account opens it in place (not a copy) and works on it.
    assert phone.predict(unsaved_id, api_name="/open") == (unsaved_id, f"Opened **{unsaved_id}**.")
    assert phone.predict(unsaved_id, scene_id, 1, api_name="/generate")[-1].startswith("Done: 1 new chunk")
    with pytest.raises(AppError, match="no project"):
        other.predict(unsaved_id, api_name="/open")
    # Saved from one browser, changed from the other.
    assert laptop.predict(unsaved_id, "ada-film", api_name="/save")[0] == "ada-film"
    saved = demo.studio.workspace.root / "ada-film"
    assert phone.predict("ada-film", api_name="/open")[0] == "ada-film"
    assert phone.predict("ada-film", scene_id, 2, api_name="/generate")[-1].startswith("Done: 1 new chunk")
    before = folder_digest(saved)
    # Another account, or a client that is not signed in, gets a copy and can change nothing of it.
    for stranger in (other, anonymous):
        with pytest.raises(AppError, match="saved project of another session"):
            stranger.predict("ada-film", scene_id, 3, api_name="/generate")
        copy_id, message = stranger.predict("ada-film", api_name="/open")
        assert copy_id != "ada-film" and "opened a copy" in message
    assert folder_digest(saved) == before


def test_an_import_gets_a_fresh_id_and_blocks_no_save_name(handlers, tmp_path):
    """Catches: an import keeping its archive's id, which lets one session take any name (the id of a
    project someone else is about to save) and lock everyone else out of saving under it."""
    from studio.export.archive import export_archive
    from studio.project.model import Project, Script, save_project
    from studio.ui.state import SessionState
    from tests.ui.conftest import fake_request

    source = tmp_path / "wanted-name"
    save_project(Project(id="wanted-name", preset="tiny", script=Script(prompt="p")), source)
    archive = export_archive(source, tmp_path / "wanted.zip")
    imported_id, message = handlers.import_project(str(archive), fake_request("mallory"))
    assert imported_id != "wanted-name" and imported_id.startswith("p-") and "Imported" in message
    assert handlers.open_project(imported_id, SessionState(), fake_request("mallory"))[0] == imported_id
    alice = SessionState()
    alice_id = handlers.plan(PROMPT, "rules", 1, alice, fake_request("alice"))[0]
    assert handlers.save_project(alice_id, "wanted-name", alice, fake_request("alice"))[0] == "wanted-name"


def test_an_event_without_a_session_id_gets_one_clear_line(studio):
    """Catches: an empty session_hash reaching gradio's queue, which answers HTTP 500 (no line at all)."""
    from studio.ui.queue_guard import NO_SESSION

    _, url = studio
    config = httpx.get(f"{url}config", timeout=10).json()
    for api_name, data in (("open", ["x", None]), ("generate", ["x", "", 1, None])):
        fn_index = next(d["id"] for d in config["dependencies"] if d.get("api_name") == api_name)
        reply = httpx.post(f"{url}gradio_api/queue/join", timeout=10,
                           json={"data": data, "fn_index": fn_index, "session_hash": "", "event_data": None})
        assert reply.status_code == 400 and NO_SESSION in reply.text


def test_an_api_session_that_goes_quiet_is_removed_with_what_gradio_served_of_it(studio):
    """Catches: API sessions (no page, no heartbeat) whose folders are never removed, and an archive still
    downloading by its URL from gradio's cache after its session folder was deleted."""
    from studio.ui import served_cache
    from studio.ui.state import Visitor

    demo, url = studio
    quiet = client(url)
    project_id, scenes, _, _ = quiet.predict(PROMPT, "rules", 1, api_name="/plan")
    quiet.predict(project_id, scenes["data"][0][0], 1, api_name="/generate")
    quiet.predict(project_id, False, api_name="/export")
    workspace = demo.studio.workspace
    folder = Visitor("session", quiet.session_hash).folder(workspace.root)
    archive = folder / "exports" / f"{project_id}.zip"
    served = served_cache.cached_copy(demo.GRADIO_CACHE, archive)
    assert served.is_file() and httpx.get(f"{url}gradio_api/file={served}", timeout=10).status_code == 200
    stranger = client(url)
    stranger.predict(PROMPT, "rules", 1, api_name="/plan")  # a session still at work: it stays

    import os
    import time

    for path in [folder, *folder.rglob("*")]:
        os.utime(path, (time.time() - 2 * 3600,) * 2)
    assert workspace.sweep_idle() == 1
    assert not folder.exists() and Visitor("session", stranger.session_hash).folder(workspace.root).exists()
    assert not served.exists() and httpx.get(f"{url}gradio_api/file={served}", timeout=10).status_code != 200
    assert demo.delete_cache == served_cache.DELETE_CACHE  # and every other served copy expires


def test_owns_needs_this_projects_key_not_any_key(tmp_path):
    """Catches: an owns() that grants any session holding a key (any owner, even one that saved nothing of
    this project) ownership of every project with an owner file."""
    from studio.project.model import Project, Script
    from studio.ui import owners
    from studio.ui.state import SessionState, Workspace

    workspace = Workspace(tmp_path / "projects")
    alice, bob = SessionState(), SessionState()
    saved = {}
    for name, session, who in (("alice-film", alice, "alice"), ("bob-film", bob, "bob")):
        project_id, folder = workspace.new_project_dir(who)
        from studio.project.model import save_project

        save_project(Project(id=project_id, preset="tiny", script=Script(prompt="p")), folder)
        saved[name] = owners.save(workspace, who, session, project_id, name)[1]
    assert alice.owner_key and bob.owner_key and alice.owner_key != bob.owner_key
    assert owners.owns(saved["alice-film"], alice) and owners.owns(saved["bob-film"], bob)
    assert not owners.owns(saved["alice-film"], bob) and not owners.owns(saved["bob-film"], alice)
    with pytest.raises(Exception, match="saved project of another session"):
        owners.check_can_change(workspace, saved["alice-film"], bob)


def test_the_signed_in_account_is_read_from_gradios_oauth_session(monkeypatch):
    """Catches: an account taken from anything but gradio's signed cookie session (or an expired sign-in
    still counting), and an account key that a browser key could equal."""
    import time

    import gradio as gr
    from starlette.requests import Request

    from studio.ui import visitors
    from studio.ui.state import Visitor, is_browser_key

    monkeypatch.setattr(visitors, "oauth_userinfo", REAL_OAUTH_USERINFO)  # the real reader, not the studio's stand-in

    def request_with(session: dict) -> gr.Request:
        return gr.Request(request=Request({"type": "http", "headers": [], "session": session}), session_hash="tab")

    userinfo = {"sub": "6543", "preferred_username": "ada", "name": "Ada", "profile": "", "picture": ""}
    signed_in = request_with({"oauth_info": {"userinfo": userinfo, "expires_at": time.time() + 60}})
    assert visitors.visitor_of(signed_in) == Visitor("user", "6543")
    expired = request_with({"oauth_info": {"userinfo": userinfo, "expires_at": time.time() - 60}})
    assert visitors.visitor_of(expired) == "tab"
    assert visitors.visitor_of(request_with({})) == "tab"
    assert visitors.visitor_of(gr.Request(session_hash="api")) == "api"  # no cookie session at all
    assert not is_browser_key(Visitor("user", "6543").owner_key)


def test_sign_in_is_offered_only_on_a_space_with_oauth(monkeypatch, tmp_path, tiny_preset):
    """Catches: a Sign-in button on a server without Hugging Face OAuth (gradio then needs a local HF login
    to start), and none on a Space that has it."""
    import gradio as gr

    from studio.ui import build_app

    def login_buttons(root) -> int:
        demo = build_app(tiny_preset, projects_root=root)
        return sum(isinstance(block, gr.LoginButton) for block in demo.blocks.values())

    for name in ("SYSTEM", "SPACE_ID", "OAUTH_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SPACE_ID", "someone/streamstudio")
    monkeypatch.setenv("OAUTH_CLIENT_ID", "client-id")
    assert login_buttons(tmp_path / "not-a-space") == 0  # SPACE_ID alone: gradio would mock the sign-in
    # What a Space with `hf_oauth: true` sets (gradio's OAuth routes read them when the app is made).
    for name, value in (("SYSTEM", "spaces"), ("OAUTH_CLIENT_SECRET", "secret"), ("OAUTH_SCOPES", "openid profile"),
                        ("OPENID_PROVIDER_URL", "https://huggingface.co")):
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("gradio.oauth.OAUTH_CLIENT_ID", "client-id")
    monkeypatch.setattr("gradio.oauth.OAUTH_CLIENT_SECRET", "secret")
    monkeypatch.setattr("gradio.oauth.OAUTH_SCOPES", "openid profile")
    monkeypatch.setattr("gradio.oauth.OPENID_PROVIDER_URL", "https://huggingface.co")
    assert login_buttons(tmp_path / "space") == 1
