"""Chunk approval: the records and the `approve` command, what counts as approved, and refine --approved-only."""

from __future__ import annotations

import re
import threading

import pytest

from studio.cli import main
from studio.errors import StudioError, ValidationError
from studio.generate.stage import regenerate_chunk
from studio.project.approval import scene_fully_approved, set_approval, unapproved_chunks
from studio.project.model import chunk_from_dict, load_project
from studio.refine.stage import refine_project, scenes_to_refine
from studio.ui.views import TIMELINE_COLUMNS, timeline_rows
from tests.pipeline.small_projects import copy_of, generated, small_preset, small_preset_file, snapshot  # noqa: F401


def approvals(path, scene_id):
    return [chunk.approval for chunk in load_project(path).script.scene(scene_id).chunks]


def test_approve_reject_and_clear_from_the_command_line(generated, tmp_path, capsys):
    path = copy_of(generated, tmp_path)
    assert approvals(path, "s0") == ["pending", "pending"]
    assert main(["approve", str(path), "--scene", "s0", "--chunk", "0", "--chunk", "1"]) == 0
    assert capsys.readouterr().out.splitlines() == ["s0 chunk 0: approved", "s0 chunk 1: approved"]
    project = load_project(path)
    assert scene_fully_approved(project.script.scene("s0")) and unapproved_chunks(project.script.scene("s0")) == []
    assert not scene_fully_approved(project.script.scene("s1")) and unapproved_chunks(project.script.scene("s1")) == [0, 1]

    assert main(["approve", str(path), "--scene", "s0", "--chunk", "1", "--reject"]) == 0
    assert capsys.readouterr().out == "s0 chunk 1: rejected\n"
    assert approvals(path, "s0") == ["approved", "rejected"]
    assert unapproved_chunks(load_project(path).script.scene("s0")) == [1]

    assert main(["approve", str(path), "--scene", "s0", "--all", "--clear"]) == 0
    assert capsys.readouterr().out.splitlines() == ["s0 chunk 0: pending", "s0 chunk 1: pending"]
    assert main(["approve", str(path), "--scene", "s1", "--all"]) == 0
    assert approvals(path, "s0") == ["pending", "pending"] and approvals(path, "s1") == ["approved", "approved"]


@pytest.mark.parametrize("argv, message", [
    (["--scene", "s0", "--chunk", "0", "--chunk", "7"], "has no chunk 7"),
    (["--scene", "nope", "--chunk", "0"], "scene 'nope' is not in the script"),
    (["--scene", "s0"], "name the chunks with --chunk K"),
    (["--scene", "s0", "--chunk", "0", "--all"], "not both"),
])
def test_a_bad_approval_is_one_line_and_changes_nothing(generated, tmp_path, capsys, argv, message):
    path = copy_of(generated, tmp_path)
    before = snapshot(path)
    assert main(["approve", str(path), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert snapshot(path) == before  # chunk 0 was valid, yet it was not approved either


def test_the_record_is_validated():
    assert chunk_from_dict({"index": 0, "seed": 1, "approval": "approved"}).approval == "approved"
    assert chunk_from_dict({"index": 0, "seed": 1}).approval == "pending"  # projects made before approvals open
    with pytest.raises(ValidationError, match="approval 'maybe' must be one of pending, approved, rejected"):
        chunk_from_dict({"index": 0, "seed": 1, "approval": "maybe"})


def test_a_regenerated_chunk_is_pending_again_and_a_stale_one_never_counts(generated, tmp_path, small_preset):
    path = copy_of(generated, tmp_path)
    for index in (0, 1):
        set_approval(path, "s0", index, "approved")
    event = regenerate_chunk(path, small_preset, "s0", 0, seed=4242)
    assert event.stale == [1]
    scene = load_project(path).script.scene("s0")
    # Chunk 0 has new frames: pending. Chunk 1 keeps its verdict on record, but is stale, so it does not count.
    assert [(c.status, c.approval) for c in scene.chunks] == [("ready", "pending"), ("stale", "approved")]
    assert unapproved_chunks(scene) == [0, 1] and not scene_fully_approved(scene)
    rows = timeline_rows(scene)
    column = TIMELINE_COLUMNS.index("approval")
    assert [row[column] for row in rows] == ["pending", "approved (stale: does not count)"]
    with pytest.raises(StudioError, match="chunk 1 of scene 's0' is stale"):
        set_approval(path, "s0", 1, "approved")


def test_refine_approved_only_skips_the_unapproved_scene(generated, tmp_path, small_preset_file, capsys):
    path = copy_of(generated, tmp_path)
    assert main(["approve", str(path), "--scene", "s1", "--all"]) == 0
    assert main(["approve", str(path), "--scene", "s0", "--chunk", "0"]) == 0
    capsys.readouterr()
    assert main(["refine", str(path), "--preset", str(small_preset_file), "--approved-only"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("s1: ") and "s0" not in out
    assert err.splitlines() == ["warning: skipped scene s0: chunk 1 is not approved "
                                "(approve with `python -m studio approve DIR --scene s0 --all`)"]
    project = load_project(path)
    assert (path / "scenes/s1/refined.mp4").is_file() and not project.script.scene("s1").refined_outdated
    assert not (path / "scenes/s0/refined.mp4").exists()


def test_refine_says_which_scenes_it_refines_unapproved(generated, tmp_path, small_preset):
    path = copy_of(generated, tmp_path)
    set_approval(path, "s1", 0, "approved")
    set_approval(path, "s1", 1, "rejected")
    lines = []
    stopped = threading.Event()
    stopped.set()  # the scenes are chosen (and said) before the first is refined; the stop spares the refining
    assert list(refine_project(path, small_preset, warn=lines.append, stop=stopped)) == []
    assert lines == [
        "scene s0: chunks 0, 1 are not approved (approve with `python -m studio approve DIR --scene s0 --all`);"
        " refined anyway (refine --approved-only skips such scenes)",
        "scene s1: chunk 1 is not approved (approve with `python -m studio approve DIR --scene s1 --all`);"
        " refined anyway (refine --approved-only skips such scenes)"]
    lines.clear()
    set_approval(path, "s1", 1, "approved")
    assert scenes_to_refine(load_project(path), warn=lines.append) == ["s0", "s1"] and len(lines) == 1
    assert scenes_to_refine(load_project(path), "s1", warn=lines.append) == ["s1"] and len(lines) == 1  # approved: silent
    # With --approved-only and no scene left, the error says why for each.
    set_approval(path, "s1", 1, "pending")
    with pytest.raises(StudioError, match="no scene to refine with --approved-only: scene s0: chunks 0, 1 .*; "
                                          "scene s1: chunk 1"):
        scenes_to_refine(load_project(path), approved_only=True, warn=lines.append)


def test_a_stale_chunk_past_a_lowered_count_blocks_nothing_and_every_hint_works(generated, tmp_path, small_preset_file,
                                                                                capsys):
    """Bug caught: a stale chunk past a lowered chunk count still counted, so `refine --approved-only`
    skipped the scene, and its hint (`approve --all`) could not approve a stale chunk; follow each hint
    printed and the refine goes through."""
    path = copy_of(generated, tmp_path)
    project = load_project(path)
    project.script.scene("s0").chunks[1].status = "stale"  # an edit made it stale...
    from studio.project.model import save_project

    save_project(project, path)
    assert main(["generate", str(path), "--preset", str(small_preset_file), "--scene", "s0", "--chunks", "1"]) == 0
    assert main(["approve", str(path), "--scene", "s1", "--all"]) == 0  # ...then the count went down to 1
    capsys.readouterr()
    for _ in range(3):  # follow the hints the refusals print, as a person would
        code = main(["refine", str(path), "--preset", str(small_preset_file), "--approved-only", "--scene", "s0"])
        if code == 0:
            break
        hint = re.search(r"`python -m studio (.+?)`", capsys.readouterr().err)
        assert hint, "a refusal without a hint to follow"
        words = hint.group(1).replace("DIR", str(path)).split()
        if words[0] in ("generate", "refine"):
            words += ["--preset", str(small_preset_file)]
        assert main(words) == 0
    assert code == 0
    assert (path / "scenes/s0/refined.mp4").is_file() and not load_project(path).script.scene("s0").refined_outdated
