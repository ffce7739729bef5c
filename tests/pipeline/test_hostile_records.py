"""An imported archive whose records name other files: every action on it touches only files of its own ids.

The archive's project.json names, in every path field a record ever had, another scene's chunk,
project.json, the project lock and a scene image. It imports; then each take, approval, reference and
remake action changes only the files computed from the ids it acts on (the whole folder is hashed before
and after each one), and project.json is never lost.
"""

from __future__ import annotations

import json
import shutil
import zipfile

import pytest

from studio.export.archive import export_archive, import_archive
from studio.generate.stage import regenerate_chunk
from studio.generate.takes import remove_take, use_take
from studio.project.approval import set_approval
from studio.project.model import load_project
from studio.references.stage import make_references, set_entity_status
from tests.pipeline.animatic_projects import animatic32, animatic32_file, changed, tree, two_scenes  # noqa: F401

RECORDS = {"project.json", "project.json.bak"}


def draft_of(scene: str) -> set[str]:
    return {f"scenes/{scene}/draft.mp4", f"scenes/{scene}/draft.takes.json"}


@pytest.fixture(scope="module")
def hostile_zip(tmp_path_factory, animatic32):
    """The archive of a two-scene project (s1 chunk 1 has takes 1-3), its records rewritten to name other files."""
    root = tmp_path_factory.mktemp("hostile")
    path = two_scenes(root / "p", animatic32)
    for word in ("jumps", "sleeps"):
        regenerate_chunk(path, animatic32, "s1", 1, prompt=f"the fox {word}")
    clean = export_archive(path, root / "clean.zip")
    data = json.loads((path / "project.json").read_text())
    s1, s2 = data["script"]["scenes"]
    s1["chunks"][1]["frames"] = "scenes/s2/chunks/000/take_01.npz"  # another scene's chunk
    s1["chunks"][1]["preview"] = "project.json"
    s1["chunks"][1]["takes"][0]["frames"] = "project.json"
    s1["chunks"][1]["takes"][0]["preview"] = ".project.lock"
    s1["chunks"][1]["takes"][1]["frames"] = "scenes/s2/chunks/001/take_01.npz"
    s1["chunks"][0]["frames"] = "scenes/s2/image.png"
    s1["scene_image"] = s2["scene_image"] = "project.json"  # a scene image of project.json
    s1["draft"], s2["refined"] = "scenes/s2/chunks/002/take_01.mp4", "project.json"
    data["script"]["entities"][0]["ref_image"] = "project.json"
    data["script"]["entities"][1]["ref_image"] = "scenes/s1/image.png"
    data["final"] = "project.json"
    hostile = root / "hostile.zip"
    with zipfile.ZipFile(clean) as source, zipfile.ZipFile(hostile, "w") as target:
        for info in source.infolist():
            body = json.dumps(data) if info.filename == "project.json" else source.read(info)
            target.writestr(info, body)
    return hostile


@pytest.fixture
def imported(hostile_zip, tmp_path):
    return import_archive(hostile_zip, tmp_path / "root", "copy")


def act(path, action) -> set[str]:
    """The files `action` changed (written, created or removed); project.json must still open after it."""
    before = tree(path)
    action()
    load_project(path)
    return changed(before, tree(path))


def take_files(scene: str, index: int, *numbers: int) -> set[str]:
    return {f"scenes/{scene}/chunks/{index:03d}/take_{n:02d}.{kind}" for n in numbers for kind in ("npz", "mp4")}


def test_the_archive_imports_and_its_records_hold_no_path(imported):
    """Catches an import that keeps (or refuses over) a record's path."""
    text = (imported / "project.json").read_text()
    assert '"frames"' not in text and '"scene_image"' not in text and '"final"' not in text
    assert [t.number for t in load_project(imported).script.scene("s1").chunks[1].takes] == [1, 2]


def test_take_actions_touch_only_their_own_chunk(imported, animatic32):
    """Catches a take switch or removal that acts on a path from a record: it would delete another scene's
    chunk, project.json or the lock named there."""
    assert act(imported, lambda: use_take(imported, animatic32, "s1", 1, 1)) <= RECORDS | draft_of("s1")
    assert act(imported, lambda: use_take(imported, animatic32, "s1", 1, 3)) <= RECORDS | draft_of("s1")
    assert act(imported, lambda: remove_take(imported, "s1", 1, 1)) == RECORDS | take_files("s1", 1, 1)
    assert act(imported, lambda: remove_take(imported, "s1", 1, 2)) == RECORDS | take_files("s1", 1, 2)
    assert (imported / "scenes/s2/chunks/000/take_01.npz").is_file() and (imported / "project.json").is_file()


def test_approval_touches_only_project_json(imported):
    """Catches an approval that writes anything but the records."""
    assert act(imported, lambda: set_approval(imported, "s1", 1, "approved")) == RECORDS
    assert act(imported, lambda: set_approval(imported, "s2", 0, "rejected")) == RECORDS


def test_reference_actions_touch_only_their_entities_and_scenes_images(imported, animatic32):
    """Catches a reference action that deletes the scene image a record names (project.json, for one)."""
    images = {"scenes/s1/image.png", "scenes/s2/image.png"}
    # Rejecting the fox clears the images of the scenes that use it (s1, s2) and marks their chunks stale.
    assert act(imported, lambda: set_entity_status(imported, "fox", "rejected")) == RECORDS | images
    # Remaking scene images makes exactly those again.
    assert act(imported, lambda: make_references(imported, animatic32, scenes_only=True)) == RECORDS | images
    # Rejecting the owl clears only s2's image (s1 has no owl); regenerating the owl remakes its card and s2's.
    assert act(imported, lambda: set_entity_status(imported, "owl", "rejected")) == RECORDS | {"scenes/s2/image.png"}
    assert act(imported, lambda: make_references(imported, animatic32, entity_id="owl")) == (
        RECORDS | {"entities/owl.png", "scenes/s2/image.png"})
    assert (imported / "project.json").is_file() and (imported / "entities/fox.png").is_file()


def test_a_version_1_archive_with_such_records_imports_every_take(hostile_zip, tmp_path, animatic32):
    """Catches a migration that moves the file an old record names instead of the chunk's own."""
    from tests.chunk_files import to_version_1

    clean = import_archive(hostile_zip, tmp_path / "a", "clean")
    expected = {name: state[0] for name, state in tree(clean).items() if "/chunks/" in name}
    old = tmp_path / "old"
    shutil.copytree(clean, old)
    to_version_1(old)
    data = json.loads((old / "project.json").read_text())
    data["script"]["scenes"][0]["chunks"][1]["frames"] = "scenes/s2/chunk_000.npz"
    data["script"]["scenes"][0]["chunks"][1]["takes"][0]["frames"] = "project.json"
    (old / "project.json").write_text(json.dumps(data))
    migrated = import_archive(export_archive_of(old, tmp_path / "old.zip"), tmp_path / "b", "old")
    assert {name: state[0] for name, state in tree(migrated).items() if "/chunks/" in name} == expected


def export_archive_of(folder, zip_path):
    """A zip of `folder` as it is (export_archive would open, and so migrate, it first)."""
    with zipfile.ZipFile(zip_path, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                archive.write(path, path.relative_to(folder).as_posix())
    return zip_path
