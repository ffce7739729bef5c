"""The cut as an editorial timeline, through OpenTimelineIO, for finishing in an editor.

    write_timeline(project_dir, project, scene_files, frame_counts, fps, "cut.otio", qa_report)

One video track, one clip per exported scene file in script order (scene titles as clip names), each
clip's media a path relative to the timeline file, so the folder or its archive can move. Markers at
each chunk boundary and at every chunk the QA checks flagged (red, with the reason); the scene's id,
event and prompt as clip metadata. The format follows the file's suffix: `.otio` (OTIO's own JSON), and
through the OTIO adapter plugins `.xml` (Final Cut Pro 7 XML: Premiere, Resolve, Kdenlive), `.fcpxml`
(Final Cut Pro X) and `.edl` (CMX 3600). The timeline is always the cut: a crossfade is the editor's.
"""

from __future__ import annotations

import os
from pathlib import Path

from studio.errors import StudioError, first_line
from studio.project.paths import atomic_path

# Suffix -> OpenTimelineIO adapter (the last three come from otio-fcp-adapter, otio-fcpx-xml-adapter and
# otio-cmx3600-adapter).
TIMELINE_ADAPTERS = {".otio": "otio_json", ".xml": "fcp_xml", ".fcpxml": "fcpx_xml", ".edl": "cmx_3600"}
# Editors' formats count in SMPTE timecode, which has no 8 fps: those timelines run at the first of
# these rates that is a whole multiple of the video's (8 -> 24: each frame lasts 3), so every time is exact.
TIMECODE_RATES = (24, 25, 30, 48, 50, 60)


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
                   media_root: Path, qa_report=None, rate: int | None = None):
    """The OTIO Timeline of the exported scene files (media paths relative to `media_root`), counted at
    `rate` frames per second (default `fps`; a multiple of it, see TIMECODE_RATES)."""
    import opentimelineio as otio

    rate = rate or fps
    step = rate // fps  # timeline frames per video frame

    def span(start: int, duration: int):  # in video frames
        return otio.opentime.TimeRange(otio.opentime.RationalTime(start * step, rate),
                                       otio.opentime.RationalTime(duration * step, rate))

    timeline = otio.schema.Timeline(name=project.id, global_start_time=otio.opentime.RationalTime(0, rate))
    track = otio.schema.Track(name="video", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    flagged = {(row.scene, row.chunk): row.reason for row in (qa_report.flagged() if qa_report else [])}
    for scene_file, count in zip(scene_files, frame_counts):
        scene = project.script.scene(Path(scene_file).stem)
        media = otio.schema.ExternalReference(target_url=Path(os.path.relpath(scene_file, media_root)).as_posix(),
                                              available_range=span(0, count))
        clip = otio.schema.Clip(name=scene.title or scene.id, media_reference=media, source_range=span(0, count))
        clip.metadata["streamstudio"] = {"scene_id": scene.id, "event": scene.event, "prompt": scene.prompt_for_chunk(0)}
        for index, start in enumerate(chunk_starts(project_dir, scene)):
            if start >= count:
                break
            reason = flagged.get((scene.id, index))
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
    timeline = build_timeline(project_dir, project, scene_files, frame_counts, fps, path.resolve().parent, qa_report,
                              rate=timeline_rate(fps, path.suffix))
    adapter = TIMELINE_ADAPTERS[path.suffix.lower()]
    try:
        with atomic_path(path, suffix=path.suffix) as tmp:
            otio.adapters.write_to_file(timeline, str(tmp), adapter_name=adapter)
    except (otio.exceptions.OTIOError, ValueError) as error:
        raise StudioError(f"could not write the {adapter} timeline {path} ({first_line(error)}); try .otio") from None
    return path


def export_timeline(project_dir: Path, scene_files: list[Path], frame_counts: list[int], preset, path: Path) -> Path:
    """The export stage's hook: run the QA checks (their flags become markers) and write the timeline."""
    from studio.project.model import load_project
    from studio.qa.check import check_project

    project = load_project(project_dir)
    report = check_project(project_dir, preset)
    return write_timeline(project_dir, project, scene_files, frame_counts, int(preset.export.fps), path, report)
