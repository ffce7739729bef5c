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
    fox = Entity(id="fox", name="fox", description="a small red fox", status="approved")
    forest = Entity(id="forest", name="forest", description="a pine forest at dawn", kind="background")
    scenes = [
        Scene(id="scene-1", title="Wake", event="the fox wakes up", entity_ids=["fox", "forest"], background="a pine forest",
              camera="zoom in", n_chunks=2, seed=7,
              chunks=[Chunk(index=0, seed=7000, prompt="the fox wakes up")]),
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
    assert paths.take_frames("scene-1", 3, 2) == tmp_path / "scenes" / "scene-1" / "chunks" / "003" / "take_02.npz"
    assert paths.take_preview("scene-1", 3, 2) == tmp_path / "scenes" / "scene-1" / "chunks" / "003" / "take_02.mp4"
    assert paths.chunk_frames("scene-1", Chunk(index=3, seed=1, prompt="p", take=5)).name == "take_05.npz"
    for bad in (-1, True, 1.5, "3"):  # a number from a record is checked before it becomes a name
        with pytest.raises(ValidationError):
            paths.take_file("scene-1", bad, 1, "npz")
        with pytest.raises(ValidationError):
            paths.take_file("scene-1", 1, bad, "npz")
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


# ----------------------------------------------------------------------------- hostile values (round 2)


def _saved(tmp_path):
    from studio.project.model import Scene, Script, load_project, new_project, save_project

    scene = Scene(id="s1", title="t", event="e", n_chunks=2)
    save_project(new_project("p", "tiny", Script(prompt="p", scenes=[scene])), tmp_path)
    return load_project(tmp_path)


@pytest.mark.parametrize("spoil, match", [
    (lambda s: s.chunk_prompts.append("x" * 2001), "chunk_prompts\\[0\\] is 2001 characters"),
    (lambda s: setattr(s, "seed", 2**70), "seed .* must be a whole number from 0"),
    (lambda s: s.chunks.extend(Chunk(index=i, seed=1, prompt="p") for i in range(65)), "65 chunk records"),
    (lambda s: s.chunks.append(Chunk(index=0, seed=1, prompt="p", seconds=float("nan"))), "finite number"),
])
def test_a_value_loading_refuses_is_never_saved(tmp_path, spoil, match):
    """Saving uses the loading rules: the bad value is refused and the saved project still opens unchanged."""
    from studio.project.model import load_project, save_project

    project = _saved(tmp_path)
    before = (tmp_path / "project.json").read_bytes()
    spoil(project.script.scenes[0])
    with pytest.raises(ValidationError, match=match):
        save_project(project, tmp_path)
    assert (tmp_path / "project.json").read_bytes() == before
    load_project(tmp_path)


@pytest.mark.parametrize("text, match", [
    ("[" * 100000 + "]" * 100000, "nests"),
    ('{"id": "p", "final": ' + "[" * 40 + "]" * 40 + "}", "nests deeper than 32 levels"),  # below the parser's limit
    ('{"id": "p", "version": ' + "9" * 5000 + "}", "not valid JSON"),
    ('{"id": "p", "script": {"prompt": "p", "scenes": [{"id": "a", "event": "e", "chunks": '
     '[{"index": 0, "seed": 1, "seconds": NaN}]}]}}', "NaN"),
    ('{"id": "p", "preset": "/tmp/evil.yaml", "script": {"prompt": "p"}}', "preset name"),
    ('{"id": "p\\n", "script": {"prompt": "p"}}', "project.id"),
])
def test_a_hostile_project_json_is_one_line_that_names_a_good_backup(tmp_path, text, match):
    from studio.project.model import load_project

    _saved(tmp_path)
    save_project_again = (tmp_path / "project.json").read_text()
    (tmp_path / "project.json.bak").write_text(save_project_again)
    (tmp_path / "project.json").write_text(text)
    with pytest.raises(ValidationError, match=match) as caught:
        load_project(tmp_path)
    message = str(caught.value)
    assert "\n" not in message and "project.json.bak" in message
    (tmp_path / "project.json.bak").write_text("{broken")  # a dead-end hint is no hint
    with pytest.raises(ValidationError) as caught:
        load_project(tmp_path)
    assert "project.json.bak" not in str(caught.value)


def take_record(number: int, **extra) -> dict:
    return {"number": number, "seed": 1, "prompt": "p", "made": "2026-12-02T10:00:00+00:00",
            "frames": f"scenes/s/takes/chunk_000/take_{number:02d}.npz",
            "preview": f"scenes/s/takes/chunk_000/take_{number:02d}.mp4", **extra}


def test_a_chunk_with_takes_round_trips_and_an_ordinary_one_stays_as_it_was():
    from studio.project.model import MAX_TAKES_PER_CHUNK, Take, chunk_from_dict

    chunk = chunk_from_dict({"index": 1, "seed": 3, "prompt": "p", "take": 3, "after_take": 2,
                             "takes": [take_record(1, after_take=1, approval="approved"), take_record(2)]})
    assert chunk.takes[0] == Take(1, 1, "p", "2026-12-02T10:00:00+00:00", 0.0, 1, "approved")  # the paths ignored
    assert "frames" not in dataclasses_asdict(chunk.takes[0])
    assert chunk_from_dict(json.loads(json.dumps(dataclasses_asdict(chunk)))) == chunk
    plain = chunk_from_dict({"index": 0, "seed": 3, "prompt": "p"})
    assert (plain.take, plain.after_take, plain.takes, plain.approval) == (1, None, [], "pending")
    assert MAX_TAKES_PER_CHUNK >= 8


def dataclasses_asdict(value):
    import dataclasses

    return dataclasses.asdict(value)


@pytest.mark.parametrize("change, message", [
    ({"takes": [take_record(1)]}, "must differ from each other and from the active take"),
    ({"takes": [take_record(2), take_record(2)]}, "must differ"),
    ({"takes": [take_record(n) for n in range(2, 70)]}, "takes; the limit is"),
    ({"takes": [take_record(2, approval="maybe")]}, "approval 'maybe' must be one of pending, approved, rejected"),
    ({"takes": [take_record(2, made="yesterday")]}, "made 'yesterday' must be an ISO-8601 time"),
    ({"takes": [take_record(0)]}, "must be a take number"),
    ({"take": True}, "take must be int"),
    ({"after_take": -1}, "must be a take number"),
    ({"approval": "yes"}, "must be one of pending, approved, rejected"),
])
def test_bad_takes_are_refused_naming_the_field(change, message):
    from studio.project.model import chunk_from_dict

    with pytest.raises(ValidationError, match=message.replace("(", r"\(")):
        chunk_from_dict({"index": 0, "seed": 3, "prompt": "p", **change})


def test_the_words_of_the_file_format_stay_readable(tmp_path):
    """project.json is a file format: every chunk status, entity status and camera move that earlier projects
    hold must still load, and a saved project says version 2. Catches a renamed or dropped status or camera
    word (older projects would stop loading) and a bumped schema version (older readers would refuse new files)."""
    from studio.project.model import CAMERA_MOVES

    cameras = ["static", "pan left", "pan right", "tilt up", "tilt down", "zoom in", "zoom out", "dolly in", "dolly out",
               "orbit"]
    assert set(cameras) <= set(CAMERA_MOVES)
    data = project_to_dict(make_project())
    scene = data["script"]["scenes"][0]
    scene["chunks"] = [dict(scene["chunks"][0], index=i, status=status)
                       for i, status in enumerate(("ready", "stale", "failed", "hidden"))]
    scene["n_chunks"] = 3
    entities = data["script"]["entities"]
    entities[:] = [dict(entities[0], id=f"e-{status}", name=status, status=status)
                   for status in ("pending", "approved", "rejected")]
    data["script"]["scenes"] = [dict(scene, id=f"s-{i}", camera=camera, entity_ids=[], chunks=scene["chunks"] if i == 0 else [])
                                for i, camera in enumerate(cameras)]
    project = project_from_dict(json.loads(json.dumps(data)))
    assert [chunk.status for chunk in project.script.scenes[0].chunks] == ["ready", "stale", "failed", "hidden"]
    assert [entity.status for entity in project.script.entities] == ["pending", "approved", "rejected"]
    assert [scene.camera for scene in project.script.scenes] == cameras
    save_project(project, tmp_path)
    assert json.loads((tmp_path / "project.json").read_text())["version"] == 2  # 2: chunk versions at computed paths
