"""Project archives: the round trip, and every way a hostile zip is refused with nothing written."""

from __future__ import annotations

import json
import stat
import zipfile

import numpy as np
import pytest

from studio.errors import StudioError
from studio.export.archive import export_archive, import_archive
from studio.media.video import load_frames, save_frames
from studio.project.model import Chunk, Scene, Script, load_project, new_project, project_to_dict, save_project


def make_project(root, project_id="fox"):
    project_dir = root / project_id
    frames = np.arange(16 * 8 * 8 * 3, dtype=np.uint32).reshape(16, 8, 8, 3).astype(np.uint8)
    save_frames(frames, project_dir / "scenes" / "a" / "chunks" / "000" / "take_01.npz")
    scene = Scene(id="a", title="A", event="e", chunks=[Chunk(index=0, seed=1, prompt="p")])
    save_project(new_project(project_id, "tiny", Script(prompt="p", scenes=[scene])), project_dir)
    save_project(load_project(project_dir), project_dir)  # leaves a project.json.bak, which must not travel
    (project_dir / "scenes" / "a" / "chunks" / "000" / ".take_02.npz.abc.npz").write_bytes(b"half written")  # a temp file
    return project_dir


def project_json(project_id="evil") -> str:
    return json.dumps(project_to_dict(new_project(project_id, "tiny", Script(prompt="p"))))


def hostile_zip(path, members: dict[str, bytes], *, with_project=True, link: str | None = None):
    with zipfile.ZipFile(path, "w") as archive:
        if with_project:
            archive.writestr("project.json", project_json())
        for name, data in members.items():
            archive.writestr(name, data)
        if link is not None:
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return path


def test_round_trip_keeps_project_and_media(tmp_path):
    project_dir = make_project(tmp_path / "a")
    zip_path = export_archive(project_dir, tmp_path / "fox.zip")
    names = zipfile.ZipFile(zip_path).namelist()
    assert sorted(names) == ["project.json", "scenes/a/chunks/000/take_01.npz"]
    imported = import_archive(zip_path, tmp_path / "b")
    assert load_project(imported) == load_project(project_dir)
    take = "scenes/a/chunks/000/take_01.npz"
    assert np.array_equal(load_frames(imported / take), load_frames(project_dir / take))


@pytest.mark.parametrize("name", ["../evil.txt", "scenes/../../evil.txt", "/tmp/evil.txt", "C:/evil.txt", "..\\evil.txt"])
def test_zip_slip_is_refused_and_nothing_is_written(tmp_path, name):
    root = tmp_path / "projects"
    zip_path = hostile_zip(tmp_path / "evil.zip", {name: b"pwned"})
    with pytest.raises(StudioError, match="refused") as error:
        import_archive(zip_path, root)
    assert "\n" not in str(error.value)
    assert not (tmp_path / "evil.txt").exists()
    assert not root.exists() or list(root.iterdir()) == []


def test_links_are_refused(tmp_path):
    zip_path = hostile_zip(tmp_path / "link.zip", {}, link="scenes/a/chunk_000.npz")
    with pytest.raises(StudioError, match="is a link"):
        import_archive(zip_path, tmp_path / "projects")


def test_too_many_and_too_large_members_are_refused(tmp_path, monkeypatch):
    import studio.export.archive as archive_module

    zip_path = hostile_zip(tmp_path / "many.zip", {f"scenes/a/{i}.bin": b"x" for i in range(5)})
    monkeypatch.setattr(archive_module, "MAX_MEMBERS", 4)
    with pytest.raises(StudioError, match="6 members; the limit is 4"):
        import_archive(zip_path, tmp_path / "projects")
    monkeypatch.setattr(archive_module, "MAX_MEMBERS", 100)
    monkeypatch.setattr(archive_module, "MAX_MEMBER_BYTES", 1000)
    big = hostile_zip(tmp_path / "big.zip", {"scenes/a/big.bin": bytes(5000)})  # deflates to a few bytes
    with pytest.raises(StudioError, match="5000 bytes; the limit is 1000"):
        import_archive(big, tmp_path / "projects")
    assert not (tmp_path / "projects").exists() or not list((tmp_path / "projects").iterdir())


def test_a_member_larger_than_its_header_is_refused(tmp_path):
    zip_path = hostile_zip(tmp_path / "liar.zip", {"scenes/a/chunk_000.npz": bytes(4000)})
    # Shrink the declared size in both headers: the bytes read must still be counted.
    raw = bytearray(zip_path.read_bytes())
    with zipfile.ZipFile(zip_path) as archive:
        info = archive.getinfo("scenes/a/chunk_000.npz")
    for offset in (info.header_offset + 22, raw.rfind(b"PK\x01\x02", 0, len(raw)) + 24):
        assert int.from_bytes(raw[offset : offset + 4], "little") == 4000
        raw[offset : offset + 4] = (100).to_bytes(4, "little")
    zip_path.write_bytes(bytes(raw))
    with pytest.raises(StudioError, match="refused"):
        import_archive(zip_path, tmp_path / "projects")
    assert not (tmp_path / "projects" / "evil").exists()


def test_bad_project_json_is_refused(tmp_path):
    missing = hostile_zip(tmp_path / "none.zip", {"scenes/a/x.bin": b"1"}, with_project=False)
    with pytest.raises(StudioError, match="no project.json"):
        import_archive(missing, tmp_path / "projects")
    data = json.loads(project_json())
    data["seed"] = "../../etc/passwd"  # no such field
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("project.json", json.dumps(data))
    with pytest.raises(StudioError, match="unknown field 'seed'"):
        import_archive(bad, tmp_path / "projects")
    data = json.loads(project_json())
    data["final"] = "../../etc/passwd"  # a path field of an old record: ignored, never followed or kept
    with zipfile.ZipFile(tmp_path / "old.zip", "w") as archive:
        archive.writestr("project.json", json.dumps(data))
    imported = import_archive(tmp_path / "old.zip", tmp_path / "projects")
    assert "final" not in json.loads((imported / "project.json").read_text())
    with pytest.raises(StudioError, match="project id"):
        import_archive(hostile_zip(tmp_path / "ok.zip", {}), tmp_path / "projects", project_id="../up")
    (tmp_path / "text.zip").write_text("not a zip")
    with pytest.raises(StudioError, match="not a zip archive"):
        import_archive(tmp_path / "text.zip", tmp_path / "projects")


def test_existing_project_is_kept_unless_overwrite(tmp_path):
    root = tmp_path / "projects"
    project_dir = make_project(root)
    zip_path = export_archive(project_dir, tmp_path / "fox.zip")
    marker = project_dir / "entities" / "mine.png"
    marker.parent.mkdir()
    marker.write_bytes(b"keep me")
    with pytest.raises(StudioError, match="already exists"):
        import_archive(zip_path, root)
    assert marker.read_bytes() == b"keep me"
    assert import_archive(zip_path, root, overwrite=True) == project_dir.resolve()
    assert not marker.exists()
    assert load_project(project_dir).id == "fox"
    assert sorted(p.name for p in root.iterdir()) == ["fox"]  # no staging folders left behind


def test_only_the_files_a_project_holds_are_unpacked(tmp_path):
    """An .html or .svg in an archive would be served from the studio's own origin: it never lands on disk."""
    zip_path = hostile_zip(tmp_path / "xss.zip", {"evil.html": b"<script>alert(1)</script>",
                                                  "scenes/a/image.svg": b"<svg onload=alert(1)/>",
                                                  "scenes/a/takes/t1.mp4": b"take", "final.mp4": b"video",
                                                  "scenes/a/chunks/000/take_01.mp4": b"take"})
    project_dir = import_archive(zip_path, tmp_path / "projects")
    files = sorted(p.relative_to(project_dir).as_posix() for p in project_dir.rglob("*")
                   if p.is_file() and p.name != ".project.lock")
    assert files == ["final.mp4", "project.json", "scenes/a/chunks/000/take_01.mp4"]


def test_a_zip_bomb_member_is_refused_by_its_ratio(tmp_path):
    zip_path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.json", project_json())
        archive.writestr("scenes/a/chunk_000.npz", bytes(4 * 1024**2))  # 4 MiB of zeros deflate ~1000:1
    with pytest.raises(StudioError, match="zip bomb"):
        import_archive(zip_path, tmp_path / "projects")
    assert not (tmp_path / "projects").exists() or not list((tmp_path / "projects").iterdir())


def test_a_project_json_that_cannot_be_saved_is_refused_in_one_line(tmp_path):
    """Too many chunk records, a chunk prompt over the limit, a preset path, deep nesting, huge integers."""
    good = json.loads(project_json())
    scene = {"id": "a", "event": "e", "chunks": [{"index": i, "seed": 1} for i in range(1000)]}
    cases = {
        "chunk records": {**good, "script": {"prompt": "p", "scenes": [scene]}},
        "limit is 2000": {**good, "script": {"prompt": "p", "scenes": [{"id": "a", "event": "e", "chunk_prompts": ["x" * 2001]}]}},
        "preset name": {**good, "preset": "/tmp/evil.yaml"},
    }
    texts = {match: json.dumps(data) for match, data in cases.items()}
    texts["nests"] = json.dumps({**good, "final": "x"}).replace('"x"', "[" * 5000 + "]" * 5000)
    texts["4300 digits"] = json.dumps(good).replace(f'"version": {good["version"]}', '"version": ' + "9" * 5000)
    for match, text in texts.items():
        zip_path = tmp_path / "bad.zip"
        with zipfile.ZipFile(zip_path, "w") as archive:
            archive.writestr("project.json", text)
        with pytest.raises(StudioError, match=match) as caught:
            import_archive(zip_path, tmp_path / "projects")
        assert "\n" not in str(caught.value) and str(tmp_path) not in str(caught.value)
