"""The data model: JSON round trips, validation errors that name the field, atomic writes, safe ids and paths."""

import json

import pytest

from studio.errors import StudioError, ValidationError
from studio.project.model import (
    Chunk,
    Entity,
    Project,
    Scene,
    Script,
    load_project,
    project_from_dict,
    project_to_dict,
    save_project,
)
from studio.project.paths import ProjectPaths, project_dir_for, resolve_inside, validate_id


def make_project() -> Project:
    fox = Entity(id="fox", name="fox", description="a small red fox", status="approved", ref_image="entities/fox.png")
    forest = Entity(id="forest", name="forest", description="a pine forest at dawn", kind="background")
    scenes = [
        Scene(id="scene-1", title="Wake", event="the fox wakes up", entity_ids=["fox", "forest"], background="a pine forest",
              camera="zoom in", n_chunks=2, seed=7,
              chunks=[Chunk(index=0, seed=7000, prompt="the fox wakes up", frames="scenes/scene-1/chunk_000.npz")]),
        Scene(id="scene-2", title="Run", event="the fox runs", entity_ids=["fox"], camera="tracking",
              chunk_prompts=["the fox runs", "the fox jumps"]),
    ]
    return Project(id="fox-story", preset="tiny", script=Script(prompt="A fox wakes and runs.", scenes=scenes, entities=[fox, forest]))


def test_round_trip_is_identity(tmp_path):
    project = make_project()
    save_project(project, tmp_path)
    assert load_project(tmp_path) == project
    assert project_from_dict(json.loads(json.dumps(project_to_dict(project)))) == project


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["script"]["scenes"][0].update(camera="spin wildly"), "scenes[0].camera 'spin wildly'"),
        (lambda d: d["script"]["scenes"][1].update(n_chunks=0), "scenes[1].n_chunks 0"),
        (lambda d: d["script"]["scenes"][1].update(n_chunks="four"), "scenes[1].n_chunks must be int"),
        (lambda d: d["script"]["scenes"][0].update(entity_ids=["wolf"]), "names 'wolf'"),
        (lambda d: d["script"]["entities"][0].update(status="maybe"), "entities[0].status 'maybe'"),
        (lambda d: d["script"]["entities"][1].update(id="fox"), "entities[1].id 'fox' is used twice"),
        (lambda d: d["script"]["scenes"][0].update(colour="red"), "unknown field 'colour'"),
        (lambda d: d.update(id="../escape"), "project.id '../escape'"),
        (lambda d: d["script"]["entities"][0].update(ref_image="../../etc/passwd"), "must be a path inside"),
        (lambda d: d["script"]["scenes"][0]["chunks"][0].update(index=3), "chunks[0].index is 3"),
        (lambda d: d["script"].pop("prompt"), "script.prompt is missing"),
    ],
)
def test_validation_errors_name_the_field_and_value(mutate, message):
    data = project_to_dict(make_project())
    mutate(data)
    with pytest.raises(ValidationError) as error:
        project_from_dict(data)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("bad", ["", "..", "a/b", "a\\b", ".hidden", "x" * 65, "sp ace", "é", None, 3])
def test_ids_with_separators_dots_or_odd_characters_are_refused(bad):
    with pytest.raises(ValidationError):
        validate_id(bad)


def test_project_paths_stay_inside_the_root(tmp_path):
    assert project_dir_for(tmp_path, "ok-1") == (tmp_path / "ok-1").resolve()
    with pytest.raises(ValidationError):
        project_dir_for(tmp_path, "..")
    with pytest.raises(ValidationError):
        resolve_inside(tmp_path, "../outside")
    with pytest.raises(ValidationError):
        resolve_inside(tmp_path, "/etc/passwd")
    (tmp_path / "link").symlink_to("/etc")
    with pytest.raises(ValidationError):
        resolve_inside(tmp_path, "link/passwd")


def test_layout_of_the_project_folder(tmp_path):
    paths = ProjectPaths(tmp_path)
    assert paths.entity_image("fox") == tmp_path / "entities" / "fox.png"
    assert paths.chunk_frames("scene-1", 3) == tmp_path / "scenes" / "scene-1" / "chunk_003.npz"
    assert paths.chunk_preview("scene-1", 3).name == "chunk_003.mp4"
    assert paths.draft("scene-1").name == "draft.mp4" and paths.refined("scene-1").name == "refined.mp4"
    assert paths.relative(paths.scene_image("scene-1")) == "scenes/scene-1/image.png"


def test_save_is_atomic_and_keeps_the_last_good_copy(tmp_path, monkeypatch):
    project = make_project()
    save_project(project, tmp_path)
    project.script.prompt = "changed"
    save_project(project, tmp_path)
    assert json.loads((tmp_path / "project.json.bak").read_text())["script"]["prompt"] == "A fox wakes and runs."

    # A crash in the middle of a write leaves the previous file whole and no temp file behind.
    import os

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    project.script.prompt = "never written"
    with pytest.raises(OSError):
        save_project(project, tmp_path)
    monkeypatch.undo()
    assert load_project(tmp_path).script.prompt == "changed"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_corrupt_project_file_gets_a_clear_error_naming_the_backup(tmp_path):
    save_project(make_project(), tmp_path)
    save_project(make_project(), tmp_path)
    (tmp_path / "project.json").write_text('{"id": "fox-st')
    with pytest.raises(StudioError, match="corrupt.*last good copy"):
        load_project(tmp_path)
    with pytest.raises(StudioError, match="project.json is missing"):
        load_project(tmp_path / "nothing-here")


def test_chunk_prompt_and_seed_defaults():
    scene = make_project().script.scenes[1]
    assert scene.prompt_for_chunk(1) == "tracking shot following the subject, the fox jumps"
    assert scene.prompt_for_chunk(5).startswith("tracking shot following the subject, the fox runs")
    assert scene.chunk_seed(3) == scene.chunk_seed(3) != scene.chunk_seed(4)
