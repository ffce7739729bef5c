"""The cut as an editorial timeline, through OpenTimelineIO, for finishing in an editor.

    write_timeline(project_dir, project, scene_files, frame_counts, fps, "cut.otio", qa_report)

One video track, one clip per exported scene file in script order (scene titles as clip names), each
clip's media a path relative to the timeline file, so the folder or its archive can move. Markers at
each chunk boundary and at every chunk the QA checks flagged (red, with the reason); the scene's id,
event and prompt as clip metadata. The format follows the file's suffix: `.otio` (OTIO's own JSON), and
through the OTIO adapter plugins `.xml` (Final Cut Pro 7 XML: Premiere, Resolve, Kdenlive), `.fcpxml`
(Final Cut Pro X) and `.edl` (CMX 3600). The timeline is always the cut: a crossfade is the editor's.

Every text written (titles, events, prompts, marker names) is made one printable line first: a newline in
a title would start a new EDL event, a control character makes both XML formats unreadable, a NUL cuts
the OTIO string. The written file is read back with its adapter before it replaces anything.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

from studio.errors import StudioError, first_line
from studio.project.paths import atomic_path

# Suffix -> OpenTimelineIO adapter (the last three come from otio-fcp-adapter, otio-fcpx-xml-adapter and
# otio-cmx3600-adapter).
TIMELINE_ADAPTERS = {".otio": "otio_json", ".xml": "fcp_xml", ".fcpxml": "fcpx_xml", ".edl": "cmx_3600"}
# Editors' formats count in SMPTE timecode, which has no 8 fps: those timelines run at the first of
# these rates that is a whole multiple of the video's (8 -> 24: each frame lasts 3), so every time is exact.
TIMECODE_RATES = (24, 25, 30, 48, 50, 60)
TEXT_LIMIT = 200  # characters of any one text in a timeline: editors show a line, not a paragraph


def editor_text(text: str, suffix: str = ".otio") -> str:
    """`text` as one printable line for a timeline of format `suffix`: control, format and separator
    characters become spaces, runs of spaces one; cut to TEXT_LIMIT. FCPXML gets a typographic
    apostrophe: its adapter looks names up with an XPath quoted in apostrophes, which a plain one breaks."""
    spaced = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in str(text))
    line = " ".join(spaced.split())[:TEXT_LIMIT]
    return line.replace("'", "\u2019") if suffix.lower() == ".fcpxml" else line


PROJECT_TIMELINE = "timeline"  # the studio keeps one timeline in a project folder: timeline.<suffix>


def project_timeline(project_dir: Path, suffix: str) -> Path:
    """Where the studio keeps the project's timeline in format `suffix` (never named after an id, so a
    saved or imported project's timeline keeps its name)."""
    return Path(project_dir) / f"{PROJECT_TIMELINE}{check_timeline_path(Path('t' + suffix)).suffix.lower()}"


def remove_other_timelines(project_dir: Path, keep: Path | None) -> None:
    """Remove the project's timelines in other formats, and ones named after an old project id: the folder
    (and its archive) offers the one just written."""
    for path in Path(project_dir).iterdir():
        if path.suffix.lower() in TIMELINE_ADAPTERS and path.is_file() and not path.is_symlink() and path != keep:
            path.unlink(missing_ok=True)


def timeline_rate(fps: int, suffix: str) -> int:
    """The rate the timeline counts in: the video's own in .otio, a timecode rate in the editors' formats."""
    if suffix.lower() == ".otio":
        return fps
    for rate in TIMECODE_RATES:
        if rate % fps == 0:
            return rate
    raise StudioError(f"export.fps {fps} has no exact SMPTE timecode rate; use 6, 8, 10, 12, 24, 25 or 30 fps, or a .otio timeline")


def check_timeline_path(path: Path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in TIMELINE_ADAPTERS:
        raise StudioError(f"timeline {path} must end in one of {', '.join(TIMELINE_ADAPTERS)}")
    return path


def chunk_starts(project_dir: Path, scene) -> list[int]:
    """The frame at which each ready chunk of the scene starts (0, 16, 24, ...), from its frames file."""
    from studio.media.video import load_frames
    from studio.project.paths import ProjectPaths

    paths, starts, position = ProjectPaths(project_dir), [], 0
    for chunk in scene.chunks:
        if chunk.status != "ready":
            break  # the same rule as the draft: it stops at the first chunk that is not ready
        try:
            count = len(load_frames(paths.chunk_frames(scene.id, chunk)))
        except StudioError:
            break
        starts.append(position)
        position += count
    return starts


def build_timeline(project_dir: Path, project, scene_files: list[Path], frame_counts: list[int], fps: int,
                   media_root: Path, qa_report=None, rate: int | None = None, suffix: str = ".otio"):
    """The OTIO Timeline of the exported scene files (media paths relative to `media_root`), counted at
    `rate` frames per second (default `fps`; a multiple of it, see TIMECODE_RATES), its texts made safe
    for a file of format `suffix`."""
    import opentimelineio as otio

    def text(value) -> str:
        return editor_text(value, suffix)

    rate = rate or fps
    step = rate // fps  # timeline frames per video frame

    def span(start: int, duration: int):  # in video frames
        return otio.opentime.TimeRange(otio.opentime.RationalTime(start * step, rate),
                                       otio.opentime.RationalTime(duration * step, rate))

    timeline = otio.schema.Timeline(name=text(project.id), global_start_time=otio.opentime.RationalTime(0, rate))
    track = otio.schema.Track(name="video", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    flagged = {(row.scene, row.chunk): row.reason for row in (qa_report.flagged() if qa_report else [])}
    for scene_file, count in zip(scene_files, frame_counts):
        scene = project.script.scene(Path(scene_file).stem)
        media = otio.schema.ExternalReference(target_url=Path(os.path.relpath(scene_file, media_root)).as_posix(),
                                              available_range=span(0, count))
        clip = otio.schema.Clip(name=text(scene.title) or scene.id, media_reference=media, source_range=span(0, count))
        clip.metadata["streamstudio"] = {"scene_id": scene.id, "event": text(scene.event),
                                         "prompt": text(scene.prompt_for_chunk(0))}
        for index, start in enumerate(chunk_starts(project_dir, scene)):
            if start >= count:
                break
            reason = text(flagged.get((scene.id, index)) or "")
            clip.markers.append(otio.schema.Marker(
                name=f"QA chunk {index}: {reason}" if reason else f"chunk {index}", marked_range=span(start, 0),
                color=otio.schema.MarkerColor.RED if reason else otio.schema.MarkerColor.GREEN,
                metadata={"streamstudio": {"chunk": index, "flagged": bool(reason), "reason": reason or ""}},
            ))
        track.append(clip)
    return timeline


def write_timeline(project_dir: Path, project, scene_files: list[Path], frame_counts: list[int], fps: int,
                   path: Path, qa_report=None) -> Path:
    """Write the timeline to `path` (format from its suffix), atomically; media paths relative to its folder."""
    import opentimelineio as otio

    path = check_timeline_path(path)
    rate = timeline_rate(fps, path.suffix)
    timeline = build_timeline(project_dir, project, scene_files, frame_counts, fps, path.resolve().parent, qa_report,
                              rate=rate, suffix=path.suffix)
    adapter = TIMELINE_ADAPTERS[path.suffix.lower()]
    try:
        with atomic_path(path, suffix=path.suffix) as tmp:
            otio.adapters.write_to_file(timeline, str(tmp), adapter_name=adapter)
            check_read_back(timeline, tmp, adapter, rate)
    # The adapters are plugins of three projects, each with its own errors (ElementTree's SyntaxError from an
    # XPath, expat's, the EDL parser's): any of them means this file is not a timeline, and nothing is kept.
    except Exception as error:  # noqa: BLE001 - one line for the person instead of a plugin's traceback
        raise StudioError(f"could not write the {adapter} timeline {path} ({first_line(error)}); try .otio") from None
    return path


def check_read_back(timeline, written: Path, adapter: str, rate: int) -> None:
    """Read `written` back with its adapter: the same clips, names and durations as `timeline`, or an error."""
    import opentimelineio as otio

    options = {"rate": rate} if adapter == "cmx_3600" else {}  # an EDL does not say its rate
    back = otio.adapters.read_from_file(str(written), adapter_name=adapter, **options)
    expected = [(clip.name, clip.duration().to_frames()) for clip in timeline.find_clips()]
    found = [(clip.name, clip.duration().rescaled_to(rate).to_frames()) for clip in back.find_clips()]
    if found != expected:
        raise StudioError(f"the written file reads back as {len(found)} clips, not the {len(expected)} written")


def export_timeline(project_dir: Path, scene_files: list[Path], frame_counts: list[int], preset, path: Path) -> Path:
    """The export stage's hook: run the QA checks (their flags become markers) and write the timeline."""
    from studio.project.model import load_project
    from studio.qa.check import check_project

    project = load_project(project_dir)
    report = check_project(project_dir, preset)
    return write_timeline(project_dir, project, scene_files, frame_counts, int(preset.export.fps), path, report)
