"""Export: scenes assembled in order into a browser-playable mp4, per-scene files, the archive round trip.

Projects are built by hand (studio.project.model dataclasses + chunk npz files), so these tests do not
depend on the generation stage.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
import zipfile

import numpy as np
import pytest

from studio.errors import StudioError
from studio.export.stage import export_project
from studio.media.video import load_scene_frames, read_video, save_frames, write_mp4
from studio.project.model import Chunk, Scene, Script, load_project, new_project, save_project
from studio.project.paths import ProjectPaths


def gradient_frames(num_frames: int, height: int, width: int, seed: int) -> np.ndarray:
    """Smooth moving gradients (h.264 keeps them well; each scene has its own colours)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = rng.integers(40, 200, 3)
    frames = [np.stack([(base[c] + 40 * np.sin((x + 2 * t) / 7 + c) + 30 * np.cos(y / 9)) for c in range(3)], -1)
              for t in range(num_frames)]
    return np.clip(frames, 0, 255).astype(np.uint8)  # (T, H, W, 3)


def make_project(projects_root, project_id="fox", *, refined=True, empty_scene=True):
    """Scene a: a 2-chunk draft (16 + 8 frames, 32x32); scene b: a refined 64x64 video of 24 frames
    (and a draft that must be ignored); scene c: nothing made yet."""
    project_dir = projects_root / project_id
    paths = ProjectPaths(project_dir)
    scenes = [Scene(id="a", title="A", event="a fox wakes"), Scene(id="b", title="B", event="the fox runs")]
    if empty_scene:
        scenes.append(Scene(id="c", title="C", event="the fox sleeps"))
    draft_a = gradient_frames(24, 32, 32, seed=1)
    for index, (start, end) in enumerate([(0, 16), (16, 24)]):
        save_frames(draft_a[start:end], paths.take_frames("a", index, 1))
        scenes[0].chunks.append(Chunk(index=index, seed=index, prompt="p"))
    save_frames(gradient_frames(16, 32, 32, seed=2), paths.take_frames("b", 0, 1))
    scenes[1].chunks.append(Chunk(index=0, seed=0, prompt="p"))
    if refined:
        write_mp4(gradient_frames(24, 64, 64, seed=3), paths.refined("b"), fps=8)
    project = new_project(project_id, "tiny", Script(prompt="a fox's day", scenes=scenes))
    save_project(project, project_dir)
    return project_dir


def probe(path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries",
         "stream=codec_name,pix_fmt,width,height,nb_read_frames", "-of", "json", str(path)],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out)["streams"][0]


def test_export_assembles_scenes_in_order_with_the_sum_of_their_frames(projects_root, tiny_preset):
    project_dir = make_project(projects_root)
    result = export_project(project_dir, tiny_preset)
    # Scene a's draft (24 frames) + scene b's refined video (24); scene b's 16-frame draft is not used.
    assert result.num_frames == 48
    assert result.video == project_dir / "final.mp4"
    assert result.seconds == pytest.approx(48 / tiny_preset.export.fps)
    assert [p.name for p in result.scene_files] == ["a.mp4", "b.mp4"]
    stream = probe(result.video)
    assert (stream["codec_name"], stream["pix_fmt"]) == ("h264", "yuv420p")
    assert (stream["width"], stream["height"], int(stream["nb_read_frames"])) == (64, 64, 48)
    # Order: the first half looks like scene a's draft scaled up, the second like scene b.
    frames, fps = read_video(result.video)
    assert fps == tiny_preset.export.fps
    import cv2

    scene_a = cv2.resize(gradient_frames(24, 32, 32, seed=1)[5], (64, 64), interpolation=cv2.INTER_CUBIC)
    scene_b = gradient_frames(24, 64, 64, seed=3)[5]
    error = lambda a, b: np.abs(a.astype(float) - b.astype(float)).mean()  # noqa: E731
    assert error(frames[5], scene_a) < 6 < error(frames[5], scene_b)
    assert error(frames[24 + 5], scene_b) < 6 < error(frames[24 + 5], scene_a)


def test_per_scene_files_have_each_scenes_frames(projects_root, tiny_preset):
    project_dir = make_project(projects_root)
    (project_dir / "export").mkdir()
    (project_dir / "export" / "deleted-scene.mp4").write_bytes(b"old")
    result = export_project(project_dir, tiny_preset)
    assert sorted(p.name for p in (project_dir / "export").iterdir()) == ["a.mp4", "b.mp4"]
    counts = [int(probe(p)["nb_read_frames"]) for p in result.scene_files]
    assert counts == [24, 24]
    assert {(probe(p)["width"], probe(p)["height"]) for p in result.scene_files} == {(64, 64)}


def test_draft_only_project_and_crossfade(projects_root, tiny_preset):
    project_dir = make_project(projects_root, refined=False, empty_scene=False)
    preset = dataclasses.replace(tiny_preset, export=dataclasses.replace(tiny_preset.export, transition="crossfade",
                                                                         crossfade_seconds=0.5))
    output = projects_root / "out" / "fade.mp4"
    result = export_project(project_dir, preset, output=output)
    # 24 + 16 draft frames, overlapping by 0.5 s * 8 fps = 4 frames.
    assert result.num_frames == 24 + 16 - 4
    assert result.video == output and output.is_file()
    assert (probe(output)["width"], probe(output)["height"]) == (32, 32)
    # Scene b fades in over output frames 20-23; at frame 22 it is half way.
    frames, _ = read_video(output)
    scene_a, scene_b = gradient_frames(24, 32, 32, seed=1)[22], gradient_frames(16, 32, 32, seed=2)[2]
    blend = (scene_a.astype(float) + scene_b) / 2
    error = lambda a, b: np.abs(a.astype(float) - b).mean()  # noqa: E731
    assert error(frames[22], blend) < 6 < min(error(frames[22], scene_a), error(frames[22], scene_b))
    assert error(frames[19], gradient_frames(24, 32, 32, seed=1)[19]) < 6  # before the fade: scene a alone


def test_scenes_of_another_aspect_are_fitted_with_bars(projects_root, tiny_preset):
    from studio.export.stage import fit_frame

    frame = np.full((32, 64, 3), 200, np.uint8)
    fitted = fit_frame(frame, 64, 64)
    assert fitted.shape == (64, 64, 3)
    assert fitted[:16].max() == 0 and fitted[48:].max() == 0 and fitted[20:44].min() == 200


def test_no_scene_with_frames_is_an_error_and_changes_nothing(projects_root, tiny_preset):
    project_dir = projects_root / "empty"
    save_project(new_project("empty", "tiny", Script(prompt="p", scenes=[Scene(id="a", title="A", event="e")])), project_dir)
    before = (project_dir / "project.json").read_bytes()
    with pytest.raises(StudioError, match="must end in .zip"):
        export_project(project_dir, tiny_preset, archive=projects_root / "x.tar")
    with pytest.raises(StudioError, match="no scene with frames") as error:
        export_project(project_dir, tiny_preset)
    assert "\n" not in str(error.value)
    assert (project_dir / "project.json").read_bytes() == before
    assert not (project_dir / "final.mp4").exists()


def test_archive_round_trips(projects_root, tiny_preset, tmp_path):
    from studio.export.archive import import_archive

    project_dir = make_project(projects_root)
    result = export_project(project_dir, tiny_preset, archive=tmp_path / "fox.zip")
    assert result.archive == tmp_path / "fox.zip"
    names = set(zipfile.ZipFile(result.archive).namelist())
    assert {"project.json", "final.mp4", "scenes/a/chunks/000/take_01.npz", "scenes/b/refined.mp4",
            "export/a.mp4"} <= names
    assert not any(name.endswith(".bak") or "/." in name for name in names)

    other_root = tmp_path / "elsewhere"
    imported = import_archive(result.archive, other_root, project_id="fox-copy")
    assert imported == (other_root / "fox-copy").resolve()
    original, copy = load_project(project_dir), load_project(imported)
    assert copy.id == "fox-copy"
    assert dataclasses.replace(copy, id=original.id) == original
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    for name in names - {"project.json"}:
        assert digest(imported / name) == digest(project_dir / name), name
    scene_a = original.script.scene("a")
    assert np.array_equal(load_scene_frames(imported, scene_a), load_scene_frames(project_dir, scene_a))
    # The imported project exports again.
    assert export_project(imported, tiny_preset).num_frames == 48


def test_missing_refined_falls_back_to_draft_and_a_draft_no_take_backs_is_not_used(projects_root, tiny_preset):
    project_dir = make_project(projects_root, empty_scene=False)
    (project_dir / "scenes" / "b" / "refined.mp4").unlink()
    project = load_project(project_dir)
    extra = Scene(id="d", title="D", event="a draft video no chunk backs")
    write_mp4(gradient_frames(10, 32, 32, seed=4), ProjectPaths(project_dir).draft("d"), fps=8)
    project.script.scenes.append(extra)
    save_project(project, project_dir)
    result = export_project(project_dir, tiny_preset)
    assert result.num_frames == 24 + 16  # a's chunks, b's chunks (no refined file); d's draft.mp4 shows no take
    assert [p.stem for p in result.scene_files] == ["a", "b"]
