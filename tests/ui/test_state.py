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


def test_stale_session_folders_are_removed(projects_root):
    import os

    workspace = Workspace(projects_root)
    _, folder = _make(workspace, "old")
    session_folder = folder.parent
    os.utime(session_folder, (0, 0))
    _, fresh = _make(workspace, "new")
    assert workspace.cleanup_stale_sessions() == 1
    assert not session_folder.exists() and fresh.exists()


def test_session_state_copies_get_their_own_stop_flag():
    import copy

    state = SessionState("s")
    state.stop.set()
    clone = copy.deepcopy(state)
    assert clone.stop is not state.stop and not clone.stop.is_set() and clone.session_hash == "s"


def test_missing_project_id_is_a_clear_message(projects_root):
    with pytest.raises(StudioError, match="Plan"):
        Workspace(projects_root).locate("alice", "")
