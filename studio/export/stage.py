"""Stage 5: the scenes, in script order, assembled into one mp4 that browsers play.

    result = export_project(project_dir, preset, archive="fox.zip")

1. Each scene's source: its refined.mp4 when it has one, else its draft (the chunk frames, or
   draft.mp4). Scenes with nothing made yet are skipped (with a warning); none at all is an error.
2. One common size (the largest scene, even sides); a scene of another size is scaled to fit and
   padded, so its aspect ratio is kept.
3. Each scene is written to PROJECT/export/<scene>.mp4 at the common size, one source frame per
   output frame at `preset.export.fps` (streamed frame by frame, so a long refined scene never sits
   in memory). These are the per-scene files.
4. moviepy 2 joins them, cut or crossfade (`preset.export.transition`), into an h.264 yuv420p mp4
   with faststart. Every file is written to a temporary name and renamed; project.json's `final` is
   updated (atomically) only when the video is inside the project folder.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from studio.errors import StudioError
from studio.media.video import write_mp4_frames
from studio.project.paths import atomic_path

logger = logging.getLogger(__name__)

EXPORT_DIR = "export"


@dataclass
class ExportResult:
    video: Path
    num_frames: int
    seconds: float  # duration of the video
    archive: Path | None = None
    scene_files: list[Path] = field(default_factory=list)
    timeline: Path | None = None
    warnings: list[str] = field(default_factory=list)  # stale parts, scenes left out, rejected chunks: one line each


@dataclass
class SceneSource:
    """Where one scene's frames come from, and their size (read before any frame is decoded)."""

    scene_id: str
    kind: str  # refined | draft | draft-video
    width: int
    height: int
    path: Path | None = None  # a video file (refined / draft-video)
    project_dir: Path | None = None  # with `scene`: the draft's chunk frames, loaded only when written
    scene: object = None

    def iter_frames(self) -> Iterator[np.ndarray]:
        if self.scene is not None:
            from studio.media.video import load_scene_frames

            yield from load_scene_frames(self.project_dir, self.scene)  # (T, H, W, 3), one scene at a time
            return
        import imageio_ffmpeg

        reader = imageio_ffmpeg.read_frames(str(self.path))
        try:
            next(reader)  # the header
            for raw in reader:
                yield np.frombuffer(raw, dtype=np.uint8).reshape(self.height, self.width, 3)
        finally:
            reader.close()


def _video_size(path: Path) -> tuple[int, int]:
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    try:
        width, height = next(reader)["size"]
    except (RuntimeError, OSError, StopIteration, KeyError) as error:
        raise StudioError(f"{path} is not a readable video ({type(error).__name__}); regenerate it") from None
    finally:
        reader.close()
    return int(width), int(height)


def scene_source(project_dir: Path, scene) -> SceneSource | None:
    """The refined video when there is one, else the draft; None when the scene has no frames yet."""
    from studio.media.video import load_frames
    from studio.project.draft import current_draft
    from studio.project.paths import ProjectPaths

    paths = ProjectPaths(project_dir)
    refined = paths.refined(scene.id)
    if refined.is_file() and not scene.refined_outdated:  # a refined video older than the chunks is never preferred
        return SceneSource(scene.id, "refined", *_video_size(refined), path=refined)
    # The same rule as load_scene_frames: the draft is the ready chunks up to the first that is not.
    first = scene.chunks[0] if scene.chunks else None
    if first is not None and first.status == "ready" and paths.chunk_frames(scene.id, first).is_file():
        height, width = load_frames(paths.chunk_frames(scene.id, first)).shape[1:3]  # only the size is kept
        return SceneSource(scene.id, "draft", width, height, project_dir=Path(project_dir), scene=scene)
    draft = current_draft(paths, scene)  # a draft of other takes than the active ones is never exported
    if draft is not None:
        return SceneSource(scene.id, "draft-video", *_video_size(draft), path=draft)
    logger.warning("scene %s is skipped: it has no finished chunk and no draft video yet", scene.id)
    return None


def export_remarks(project, exported: list[str]) -> list[str]:
    """What a person must know about the cut beyond staleness, one line each: scenes left out (nothing
    made yet) and rejected chunks that are in it all the same."""
    remarks = []
    for scene in project.script.scenes:
        if scene.id not in exported:
            remarks.append(f"scene {scene.id} is left out: it has no finished chunk yet; generate it to include it")
            continue
        rejected = [c.index for c in scene.chunks if c.approval == "rejected" and c.status == "ready"]
        if rejected:
            which = "chunk " + str(rejected[0]) if len(rejected) == 1 else "chunks " + ", ".join(map(str, rejected))
            remarks.append(f"scene {scene.id}: {which} {'is' if len(rejected) == 1 else 'are'} rejected but in the "
                           "video; regenerate or use another take, then export again")
    return remarks


def common_size(sources: list[SceneSource]) -> tuple[int, int]:
    """(width, height) of the largest scene, rounded down to even sides (yuv420p needs them)."""
    largest = max(sources, key=lambda s: (s.width * s.height, s.width))
    return max(2, largest.width - largest.width % 2), max(2, largest.height - largest.height % 2)


def fit_frame(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale `frame` (H, W, 3) to fit (height, width), keeping its aspect ratio; pad with black."""
    import cv2

    frame_height, frame_width = frame.shape[:2]
    if (frame_width, frame_height) == (width, height):
        return frame
    scale = min(width / frame_width, height / frame_height)
    new_width = min(width, max(1, round(frame_width * scale)))
    new_height = min(height, max(1, round(frame_height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    resized = cv2.resize(frame, (new_width, new_height), interpolation=interpolation)  # (h', w', 3)
    if (new_width, new_height) == (width, height):
        return resized
    canvas = np.zeros((height, width, 3), dtype=np.uint8)  # (H, W, 3)
    top, left = (height - new_height) // 2, (width - new_width) // 2
    canvas[top : top + new_height, left : left + new_width] = resized
    return canvas


def write_scene_file(source: SceneSource, path: Path, width: int, height: int, fps: int) -> int:
    """Stream the scene's frames, fitted to (width, height), into an h.264 mp4 at `path`; frame count."""
    frames = (fit_frame(frame, width, height) for frame in source.iter_frames())
    first = next(frames, None)
    if first is None:
        raise StudioError(f"scene {source.scene_id!r}: its {source.kind} video has no frames; regenerate it")
    return write_mp4_frames(itertools.chain([first], frames), path, width, height, fps)


def assemble(scene_files: list[Path], frame_counts: list[int], output: Path, fps: int, *,
             transition: str = "cut", crossfade_seconds: float = 0.0) -> Path:
    """Join the per-scene files (all the same size, at `fps`) with moviepy 2 into `output`, atomically."""
    from moviepy import VideoFileClip, concatenate_videoclips, vfx

    # Each clip's duration is set from its known frame count, so moviepy's time sampling lands on
    # exactly one source frame per output frame (no frame dropped or doubled at the joins).
    clips = [VideoFileClip(str(p), audio=False).with_duration(n / fps) for p, n in zip(scene_files, frame_counts)]
    try:
        overlap_frames = int(round(crossfade_seconds * fps)) if transition == "crossfade" else 0
        # A crossfade may not eat more than half of the shortest scene.
        overlap_frames = min(overlap_frames, min(frame_counts) // 2) if len(clips) > 1 else 0
        if overlap_frames > 0:
            overlap = overlap_frames / fps
            faded = [clips[0]] + [clip.with_effects([vfx.CrossFadeIn(overlap)]) for clip in clips[1:]]
            video = concatenate_videoclips(faded, method="compose", padding=-overlap)
        else:
            video = concatenate_videoclips(clips, method="chain")
        with atomic_path(output, suffix=".mp4") as tmp:
            video.write_videofile(
                str(tmp), fps=fps, codec="libx264", audio=False, preset="medium", logger=None,
                pixel_format="yuv420p", ffmpeg_params=["-movflags", "+faststart", "-crf", "18"],
            )
        video.close()
    finally:
        for clip in clips:
            clip.close()
    return output


def count_frames(path: Path) -> int:
    import imageio_ffmpeg

    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(path))
    return int(frames)


def _sweep_export_temp_files(export_dir: Path, output: Path) -> None:
    """Remove what a killed export left: its scene files' temp files, and the final video's beside it.

    Only names this stage writes are touched: other stages may be writing in the project folder now.
    """
    from studio.project.paths import remove_temp_files

    remove_temp_files(export_dir)  # only export writes there
    for leftover in output.parent.glob(f".{output.name}.*"):
        if leftover.is_file() and not leftover.is_symlink():
            leftover.unlink(missing_ok=True)


def _check_output_outside_media(paths, output: Path) -> None:
    """The video may go anywhere but among the project's own media (a take, an image, a scene file)."""
    target = output.resolve()
    for folder in ("scenes", "entities", EXPORT_DIR):
        inside = (paths.root / folder).resolve()
        if target == inside or inside in target.parents:
            raise StudioError(f"output {output} is inside the project's {folder}/ folder, whose files the studio "
                              f"computes; write it elsewhere (the default is {paths.final()})")


def export_project(project_dir: Path, preset, *, output: Path | None = None, archive: Path | None = None,
                   timeline: Path | None = None) -> ExportResult:
    """Assemble the project's scenes into one mp4 (default PROJECT/final.mp4); optionally zip the project."""
    from studio.project.model import load_project
    from studio.project.paths import ProjectPaths

    project_dir = Path(project_dir)
    project = load_project(project_dir)
    paths = ProjectPaths(project_dir)
    fps = int(preset.export.fps)
    if fps <= 0:
        raise StudioError(f"export.fps {fps} must be a positive number of frames per second")
    output = Path(output) if output is not None else paths.final()
    if output.suffix.lower() != ".mp4":
        raise StudioError(f"output {output} must end in .mp4")
    _check_output_outside_media(paths, output)
    if archive is not None and Path(archive).suffix.lower() != ".zip":
        raise StudioError(f"archive {archive} must end in .zip")
    if timeline is not None:
        from studio.export.timeline import check_timeline_path

        check_timeline_path(timeline)
    _sweep_export_temp_files(project_dir / EXPORT_DIR, output)
    # 1. Sources, in script order; whatever is stale is named, never exported silently.
    from studio.project.staleness import stale_findings

    warnings = stale_findings(project, project_dir)
    for line in warnings:
        logger.info("export: %s", line)  # the caller shows result.warnings
    sources = [s for s in (scene_source(project_dir, scene) for scene in project.script.scenes) if s is not None]
    warnings = warnings + export_remarks(project, [s.scene_id for s in sources])
    if not sources:
        raise StudioError(f"project {project.id!r} has no scene with frames yet; run `generate` first")
    # 2-3. Per-scene files at the common size.
    width, height = common_size(sources)
    export_dir = project_dir / EXPORT_DIR
    scene_files, frame_counts = [], []
    for source in sources:
        scene_file = export_dir / f"{source.scene_id}.mp4"
        frame_counts.append(write_scene_file(source, scene_file, width, height, fps))
        scene_files.append(scene_file)
        logger.info("export: scene %s (%s) -> %s, %d frames", source.scene_id, source.kind, scene_file, frame_counts[-1])
    for stale in export_dir.glob("*.mp4"):  # files of scenes since deleted or emptied would mislead
        if stale not in scene_files:
            stale.unlink(missing_ok=True)
    # 4. The final video.
    output.parent.mkdir(parents=True, exist_ok=True)
    assemble(scene_files, frame_counts, output, fps, transition=preset.export.transition,
             crossfade_seconds=preset.export.crossfade_seconds)
    num_frames = count_frames(output)  # (the project's final video is final.mp4: no record names it)
    timeline_path = None
    if timeline is not None:  # before the archive, so a timeline inside the project travels with it
        from studio.export.timeline import export_timeline

        timeline_path = export_timeline(project_dir, scene_files, frame_counts, preset, Path(timeline))
    archive_path = None
    if archive is not None:
        from studio.export.archive import export_archive

        archive_path = export_archive(project_dir, Path(archive))
    return ExportResult(video=output, num_frames=num_frames, seconds=num_frames / fps, archive=archive_path,
                        scene_files=scene_files, timeline=timeline_path, warnings=warnings)

