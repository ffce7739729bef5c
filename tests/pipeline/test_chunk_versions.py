"""Chunk versions at paths of ids: written once, never moved; old projects migrated on open; kills swept on open.

On the animatic preset at 32x32 (no models): the layout, not the pictures, is under test here.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from studio.cli import main
from studio.generate.stage import regenerate_chunk
from studio.generate.takes import use_take
from studio.media.video import load_frames
from studio.project.draft import current_draft
from studio.project.layout import open_project
from studio.project.model import load_project
from studio.project.paths import ProjectPaths
from tests.chunk_files import to_version_1
from tests.pipeline.animatic_projects import animatic32, animatic32_file, changed, three_takes, tree  # noqa: F401


@pytest.fixture(scope="module")
def made(tmp_path_factory, animatic32):
    """Two scenes of three chunks; chunk 1 of s1 regenerated twice (takes 1 and 2 stored, 3 active)."""
    return three_takes(tmp_path_factory.mktemp("versions") / "p", animatic32)


@pytest.fixture
def project(made, tmp_path):
    path = tmp_path / "p"
    shutil.copytree(made, path)
    return path


def versions(path) -> dict[tuple[str, int, int], bytes]:
    """Every version on record, (scene, chunk, take) -> its frames' bytes (the files computed from those ids)."""
    paths = ProjectPaths(path)
    return {(scene.id, chunk.index, number): load_frames(paths.take_frames(scene.id, chunk.index, number)).tobytes()
            for scene in load_project(path).script.scenes for chunk in scene.chunks
            for number in [chunk.take, *(take.number for take in chunk.takes)]}


def test_a_version_is_written_once_and_no_record_holds_a_path(project, animatic32):
    """Catches a regeneration or a switch that rewrites, moves or copies an existing version's files, and a
    record that stores a path again."""
    paths = ProjectPaths(project)
    kept = {name: state for name, state in tree(project).items() if "/chunks/" in name}
    regenerate_chunk(project, animatic32, "s1", 1, prompt="the fox digs")  # take 4
    use_take(project, animatic32, "s1", 1, 2)
    after = tree(project)
    assert all(after[name] == state for name, state in kept.items())  # same bytes, same inode, same mtime
    assert {name for name in after.keys() - kept.keys() if "/chunks/" in name} == {
        "scenes/s1/chunks/001/take_04.npz", "scenes/s1/chunks/001/take_04.mp4"}
    assert paths.chunk_frames("s1", load_project(project).script.scene("s1").chunks[1]) == paths.take_frames("s1", 1, 2)
    text = (project / "project.json").read_text()
    assert ".npz" not in text and ".mp4" not in text and ".png" not in text  # no path on record


def test_paths_in_a_project_json_are_ignored(project, animatic32_file):
    """Catches a loader that follows a record's path: every path field of version 1, naming another scene's
    chunk, project.json or the lock, is dropped on load, and a take switch touches none of those files."""
    data = json.loads((project / "project.json").read_text())
    s1 = data["script"]["scenes"][0]
    s1["chunks"][1]["frames"] = "scenes/s2/chunks/000/take_01.npz"
    s1["chunks"][1]["takes"][0]["preview"] = "project.json"
    s1["scene_image"], s1["draft"], s1["refined"] = "project.json", ".project.lock", "scenes/s2/draft.mp4"
    data["script"]["entities"][0]["ref_image"], data["final"] = "project.json", "scenes/s2/image.png"
    (project / "project.json").write_text(json.dumps(data))
    chunk = load_project(project).script.scene("s1").chunks[1]
    assert not hasattr(chunk, "frames") and not hasattr(chunk.takes[0], "preview")
    before = tree(project)
    assert main(["takes", str(project), "--scene", "s1", "--chunk", "1", "--use", "1", "--preset",
                 str(animatic32_file)]) == 0
    assert changed(before, tree(project)) <= {"project.json", "project.json.bak", "scenes/s1/draft.mp4",
                                               "scenes/s1/draft.takes.json"}
    assert load_project(project).script.scene("s1").chunks[1].take == 1


def test_a_version_1_project_is_migrated_on_open_with_every_take(project, animatic32, capsys):
    """Catches a migration that loses a version, swaps two, or leaves the old files or paths behind."""
    expected = versions(project)
    to_version_1(project)
    assert (project / "scenes/s1/chunk_001.npz").is_file() and (project / "scenes/s1/takes/chunk_001").is_dir()
    assert main(["takes", str(project), "--scene", "s1", "--chunk", "1", "--json"]) == 0  # any command opens it
    listed = json.loads(capsys.readouterr().out)
    assert [(t["take"], t["active"]) for t in listed] == [(1, False), (2, False), (3, True)]
    assert versions(project) == expected
    data = json.loads((project / "project.json").read_text())
    assert data["version"] == 2 and ".npz" not in json.dumps(data)
    assert not list((project / "scenes").glob("*/chunk_*")) and not list((project / "scenes").glob("*/takes"))
    assert current_draft(ProjectPaths(project), load_project(project).script.scene("s1")) is not None


def test_a_version_1_record_naming_other_files_moves_only_its_own(project):
    """Catches a migration that follows an old record's path: a frames path naming another scene's chunk
    only says "the active version had files"; the version moved is this chunk's own."""
    expected = versions(project)
    to_version_1(project)
    data = json.loads((project / "project.json").read_text())
    data["script"]["scenes"][0]["chunks"][2]["frames"] = "scenes/s2/chunk_000.npz"
    data["script"]["scenes"][0]["chunks"][1]["takes"][0]["frames"] = "project.json"
    (project / "project.json").write_text(json.dumps(data))
    load_project(project)
    assert versions(project) == expected


def test_what_a_kill_left_is_swept_on_open_and_nothing_else(project):
    """Catches a sweep that misses the temp files under chunks/ or the root, keeps a take file no record names,
    or removes what other writers own (the owner file, a refine's temp file, a recorded take)."""
    paths = ProjectPaths(project)
    left = [project / ".project.json.k1l2m3n4.tmp", project / "scenes/s1/chunks/001/.take_04.npz.ab12cd34.npz",
            project / "scenes/s1/.draft.mp4.zz99yy88.mp4", project / "scenes/s1/chunks/002/take_05.npz",
            project / "entities/.fox.png.aa11bb22.tmp"]
    kept = [project / ".owner", project / "scenes/s1/.refined.mp4.qq77ww66.mp4"]
    for path in left + kept:
        path.write_bytes(b"left by a kill")
    before = tree(project)
    open_project(project)
    assert not any(path.exists() for path in left)
    assert all(path.read_bytes() == b"left by a kill" for path in kept)
    assert changed(before, tree(project)) == {path.relative_to(project).as_posix() for path in left}
    assert paths.take_frames("s1", 1, 1).is_file()  # a stored take on record stays


def test_the_oldest_takes_files_go_only_when_their_record_does(project, animatic32):
    """Catches pruning that removes files of a take still on record, or leaves a pruned take's files."""
    from tests.pipeline.animatic_projects import with_max_takes

    regenerate_chunk(project, with_max_takes(animatic32, 2), "s1", 1, prompt="the fox digs")  # 2 versions: 1, 2 go
    chunk = load_project(project).script.scene("s1").chunks[1]
    assert (chunk.take, [t.number for t in chunk.takes]) == (4, [3])
    assert sorted(p.name for p in (project / "scenes/s1/chunks/001").iterdir()) == [
        "take_03.mp4", "take_03.npz", "take_04.mp4", "take_04.npz"]
    assert not np.array_equal(load_frames(ProjectPaths(project).take_frames("s1", 1, 3)),
                              load_frames(ProjectPaths(project).take_frames("s1", 1, 4)))
