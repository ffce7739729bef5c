"""Per-session project folders: confinement to the projects root, isolation, save, clean-up."""

from __future__ import annotations

import pytest

from studio.errors import StudioError
from studio.project.model import Project, Script, save_project
from studio.ui.state import SESSIONS_DIR, SessionState, Workspace, session_key


def _make(workspace: Workspace, session: str) -> tuple[str, object]:
    project_id, folder = workspace.new_project_dir(session)
    save_project(Project(id=project_id, preset="tiny", script=Script(prompt="p")), folder)
    return project_id, folder


def test_session_projects_are_private_to_their_session(projects_root):
    workspace = Workspace(projects_root)
    project_id, folder = _make(workspace, "alice")
    assert folder.parent.parent == projects_root.resolve() / SESSIONS_DIR
    assert workspace.locate("alice", project_id) == folder
    with pytest.raises(StudioError, match="no project"):
        workspace.locate("bob", project_id)


@pytest.mark.parametrize("bad", ["../x", "..", "a/b", "/etc", "_sessions", "x" * 65, "a.b", " "])
def test_ids_from_the_browser_cannot_leave_the_root(projects_root, bad):
    workspace = Workspace(projects_root)
    with pytest.raises(StudioError):
        workspace.locate("alice", bad)
    with pytest.raises(StudioError):
        workspace.save("alice", bad)


def test_session_key_is_a_digest_so_crafted_hashes_stay_inside(projects_root):
    workspace = Workspace(projects_root)
    folder = workspace.session_dir("../../etc")
    assert folder.parent == projects_root.resolve() / SESSIONS_DIR
    assert session_key("a") != session_key("b") and len(session_key("a")) == 24
    with pytest.raises(StudioError):
        session_key(None)


def test_save_moves_the_project_out_of_the_session_and_cleanup_keeps_it(projects_root):
    workspace = Workspace(projects_root)
    project_id, folder = _make(workspace, "alice")
    saved_id, saved = workspace.save("alice", project_id, "my-film")
    assert saved_id == "my-film" and saved == projects_root.resolve() / "my-film"
    # The session path only forwards to the saved folder (a generation started before the save writes through it).
    assert folder.is_symlink() and folder.resolve() == saved
    from studio.project.model import load_project

    assert load_project(saved).id == "my-film"
    # Any session can reopen a saved project by its name.
    assert workspace.locate("bob", "my-film") == saved
    assert workspace.saved_ids() == ["my-film"]
    # Clean-up of both sessions removes only session folders.
    other_id, other = _make(workspace, "alice")
    assert workspace.cleanup_session("alice") and not other.exists()
    assert not workspace.cleanup_session("bob")
    assert (saved / "project.json").is_file()
    # A second save under a taken name refuses instead of overwriting.
    third, _ = _make(workspace, "bob")
    with pytest.raises(StudioError, match="already exists"):
        workspace.save("bob", third, "my-film")


def _age(folder, seconds_ago: float) -> None:
    import os
    import time

    for path in [folder, *folder.rglob("*")]:
        os.utime(path, (time.time() - seconds_ago,) * 2)


def test_idle_visitor_folders_are_removed_and_a_reload_removes_nothing(projects_root):
    """Catches: API sessions that never send a heartbeat keeping their folders for ever (no idle sweep), a
    browser's folder deleted on a reload (cleanup_session removing the browser folder), a running job's folder
    swept because only the folder's own mtime was looked at, and an account's folder ever being swept."""
    from studio.ui.state import BROWSERS_DIR, USERS_DIR, Visitor

    workspace = Workspace(projects_root)
    key = "k" * 43
    workspace.bind("tab-1", key)
    _, api_project = _make(workspace, "api-client")
    _, busy_project = _make(workspace, "busy-client")
    _, browser_project = _make(workspace, "tab-1")
    _, user_project = _make(workspace, Visitor("user", "1234"))
    assert browser_project.parent.parent.name == BROWSERS_DIR and user_project.parent.parent.name == USERS_DIR
    for project in (api_project, browser_project, user_project):
        _age(project.parent, 2 * 3600)  # two hours without a request or a written file
    _age(busy_project.parent, 2 * 3600)
    (busy_project / "chunk.npz").write_bytes(b"written just now")  # a job running in it
    assert workspace.sweep_idle() == 1
    assert not api_project.exists() and busy_project.exists() and browser_project.exists() and user_project.exists()
    # A reload: gradio ends the tab's session; the next page binds the same key and finds the project.
    assert not workspace.cleanup_session("tab-1")
    workspace.bind("tab-2", key)
    assert workspace.locate("tab-2", browser_project.name) == browser_project
    # A browser gone for longer than its limit is swept; an account never is.
    _age(browser_project.parent, 8 * 86400)
    _age(user_project.parent, 800 * 86400)
    assert workspace.sweep_idle() == 1 and not browser_project.exists() and user_project.exists()


def test_idle_limits_from_the_environment(projects_root, monkeypatch):
    monkeypatch.setenv("STUDIO_SESSION_IDLE_HOURS", "0.5")
    workspace = Workspace(projects_root)
    _, project = _make(workspace, "api-client")
    _age(project.parent, 3600)
    assert workspace.sweep_idle() == 1
    monkeypatch.setenv("STUDIO_SESSION_IDLE_HOURS", "soon")
    with pytest.raises(StudioError, match="STUDIO_SESSION_IDLE_HOURS must be a number above 0"):
        workspace.sweep_idle()


def test_the_projects_root_is_on_persistent_storage_when_a_space_has_it(tmp_path, monkeypatch):
    """Catches: a Space's projects (and its accounts' folders) kept on its disk, which a restart wipes."""
    from studio.ui import state

    monkeypatch.delenv("STUDIO_PROJECTS_ROOT", raising=False)
    monkeypatch.setattr(state, "PERSISTENT_STORAGE", tmp_path / "data")
    assert state.default_projects_root() != (tmp_path / "data" / "projects").resolve()
    (tmp_path / "data").mkdir()
    assert state.default_projects_root() == (tmp_path / "data" / "projects").resolve()
    monkeypatch.setenv("STUDIO_PROJECTS_ROOT", str(tmp_path / "mine"))
    assert state.default_projects_root() == (tmp_path / "mine").resolve()


def test_a_browser_key_must_be_unguessable(projects_root):
    workspace = Workspace(projects_root)
    for bad in ("", "short", "k" * 42, "user:1234" + "k" * 40, None, 7):
        with pytest.raises(StudioError, match="browser key is malformed"):
            workspace.bind("tab", bad)
    assert workspace.visitor("tab").kind == "session"


def test_session_state_copies_get_their_own_stop_flag():
    import copy

    state = SessionState("s")
    state.stop.set()
    clone = copy.deepcopy(state)
    assert clone.stop is not state.stop and not clone.stop.is_set() and clone.session_hash == "s"


def test_missing_project_id_is_a_clear_message(projects_root):
    with pytest.raises(StudioError, match="Plan"):
        Workspace(projects_root).locate("alice", "")
