"""On the animatic preset: an inverted chunk is flagged by `qa`, and `export --timeline` hands the cut to editors.

The timeline reads back with OpenTimelineIO (one clip per scene, in order, durations summing to the
exported video's frames) in each format: .otio, FCP 7 XML, FCPXML and CMX 3600 EDL.
"""

from __future__ import annotations

import json
import re
import shutil
from xml.etree import ElementTree

import opentimelineio as otio
import pytest

from studio.cli import main
from studio.export.stage import count_frames
from studio.export.timeline import editor_text, write_timeline
from studio.media.video import load_frames, save_frames
from studio.project.model import load_project, save_project
from studio.project.paths import ProjectPaths


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory):
    """Two scenes of three chunks on the animatic preset; scene 1's chunk 2 inverted on disk."""
    root = tmp_path_factory.mktemp("timeline")
    code = main(["run", "A red fox wakes in a snowy forest. Then it runs to a frozen lake at dusk.", "--preset",
                 "animatic", "--chunks", "3", "--no-refine", "--project", str(root / "fox"), "-o", str(root / "fox.mp4")])
    assert code == 0
    project_dir = root / "fox"
    chunk = ProjectPaths(project_dir).take_frames("scene-1", 2, 1)
    save_frames(255 - load_frames(chunk), chunk)
    return project_dir


def test_qa_flags_the_inverted_chunk_and_not_the_chunks_before_it(project_dir, capsys):
    assert main(["qa", str(project_dir), "--json"]) == 0
    rows = {(c["scene"], c["chunk"]): c for c in json.loads(capsys.readouterr().out)["chunks"]}
    assert [rows[("scene-1", k)]["flagged"] for k in range(3)] == [False, False, True]
    assert "colour drift" in rows[("scene-1", 2)]["reason"]
    assert not any(rows[("scene-2", k)]["flagged"] for k in range(3))


def test_export_timeline_reads_back_one_clip_per_scene_summing_to_the_video(project_dir, capsys):
    timeline_file = project_dir / "cut.otio"
    assert main(["export", str(project_dir), "--timeline", str(timeline_file)]) == 0
    assert f"wrote {timeline_file}" in capsys.readouterr().out
    timeline = otio.adapters.read_from_file(str(timeline_file))
    clips = list(timeline.find_clips())
    project = load_project(project_dir)
    assert [c.name for c in clips] == [s.title for s in project.script.scenes]
    assert [c.media_reference.target_url for c in clips] == ["export/scene-1.mp4", "export/scene-2.mp4"]
    assert sum(c.duration().to_frames() for c in clips) == count_frames(project_dir / "final.mp4") == 2 * 32
    assert clips[0].metadata["streamstudio"]["event"] == project.script.scenes[0].event
    # Chunk boundaries at 0, 16 and 24; the inverted chunk's marker is red and says why.
    markers = clips[0].markers
    assert [m.marked_range.start_time.to_frames() for m in markers] == [0, 16, 24]
    assert markers[2].color == otio.schema.MarkerColor.RED and "colour drift" in markers[2].name
    assert all(m.color == otio.schema.MarkerColor.GREEN for m in clips[1].markers)


@pytest.mark.parametrize("suffix", [".xml", ".fcpxml", ".edl"])
def test_each_editor_format_parses_back(project_dir, suffix):
    project = load_project(project_dir)
    scene_files = [project_dir / "export" / f"{s.id}.mp4" for s in project.script.scenes]
    counts = [count_frames(f) for f in scene_files]
    path = write_timeline(project_dir, project, scene_files, counts, 8, project_dir / f"cut{suffix}")
    timeline = otio.adapters.read_from_file(str(path), **({"rate": 24} if suffix == ".edl" else {}))
    clips = list(timeline.find_clips())
    assert [c.name for c in clips] == [s.title for s in project.script.scenes]
    assert [c.duration().to_seconds() for c in clips] == [n / 8 for n in counts]
    assert clips[1].media_reference.target_url == "export/scene-2.mp4"
    assert len(clips[0].markers) == 3


def test_a_timeline_of_an_unknown_format_is_refused_before_any_work(project_dir, capsys):
    assert main(["export", str(project_dir), "--timeline", str(project_dir / "cut.mov")]) == 2
    assert "must end in one of .otio, .xml, .fcpxml, .edl" in capsys.readouterr().err


HOSTILE_TITLES = ["it's \"quoted\"", "a <b> & c; d > e", "one\n002  AX V C 00:00:00:00 00:00:01:00\n* FROM CLIP NAME: forged",
                  "bell\x07 escape\x1b[31m red nul\x00 tab\t return\r", "zero\u200bwidth \u2028separator ünïcode ☃"]


def hostile_copy(project_dir, destination):
    """The exported project, its two scenes retitled with quotes, markup, an EDL event and control characters."""
    shutil.copytree(project_dir, destination)
    project = load_project(destination)
    for scene, title in zip(project.script.scenes, HOSTILE_TITLES[:2] if destination.name.endswith("a") else HOSTILE_TITLES[2:]):
        scene.title, scene.event = title, title + " event"
    save_project(project, destination)
    return destination


@pytest.mark.parametrize("suffix", [".otio", ".xml", ".fcpxml", ".edl"])
def test_hostile_titles_give_timelines_that_read_back_in_every_format(project_dir, tmp_path, suffix, capsys):
    """Bugs caught: a newline in a title injected an EDL event, an apostrophe crashed the FCPXML adapter
    (traceback), control characters made both XML formats unparsable and a NUL cut the OTIO name."""
    for name in ("hostile-a", "hostile-b"):
        copy = hostile_copy(project_dir, tmp_path / name)
        cut = copy / f"cut{suffix}"
        assert main(["export", str(copy), "--timeline", str(cut)]) == 0, capsys.readouterr().err
        text = cut.read_text(encoding="utf-8")
        if suffix in (".xml", ".fcpxml"):
            ElementTree.fromstring(text.encode("utf-8"))  # well-formed XML, not just what the adapter tolerates
        if suffix == ".edl":  # one event line per scene: the title's newline started none
            assert len([line for line in text.splitlines() if re.match(r"\d{3}\s", line)]) == 2
        timeline = otio.adapters.read_from_file(str(cut), **({"rate": 24} if suffix == ".edl" else {}))
        names = [clip.name for clip in timeline.find_clips()]
        assert len(names) == 2 and all(name.isprintable() and name == name.strip() for name in names)
        originals = [s.title for s in load_project(copy).script.scenes]
        for name, original in zip(names, originals):  # every visible word kept, in order
            assert name.replace("\u2019", "'").split() == editor_text(original).split()
