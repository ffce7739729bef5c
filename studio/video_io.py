"""Frames in and out: h.264 mp4 files that browsers play, and chunk frame files (npz).

Frames are uint8 arrays of shape (T, H, W, 3). Every file is written to a temporary name and renamed,
so a crash never leaves a half-written video or chunk that looks finished.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from studio.errors import StudioError

MAX_EVAL_FRAMES = 10_000


def _temp_beside(path: Path, suffix: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp makes files private (0600); media files are ordinary files
    return Path(tmp)


def check_frames(frames: np.ndarray, what: str = "frames") -> np.ndarray:
    if not isinstance(frames, np.ndarray) or frames.ndim != 4 or frames.shape[-1] != 3:
        shape = getattr(frames, "shape", None)
        raise StudioError(f"{what} must be an array of shape (T, H, W, 3), got {shape}")
    if frames.dtype != np.uint8:
        raise StudioError(f"{what} must be uint8, got {frames.dtype}")
    if len(frames) == 0:
        raise StudioError(f"{what} is empty")
    return frames


def write_mp4(frames: np.ndarray, path: Path, fps: int, quality: int = 8) -> Path:
    """Write frames as an h.264 / yuv420p mp4 (plays in every browser), atomically."""
    import imageio_ffmpeg

    frames = check_frames(frames)
    path = Path(path)
    _, height, width, _ = frames.shape
    if height % 2 or width % 2:  # yuv420p needs even sizes
        frames = frames[:, : height - height % 2, : width - width % 2]
        height, width = frames.shape[1:3]
    tmp = _temp_beside(path, ".mp4")
    try:
        writer = imageio_ffmpeg.write_frames(
            str(tmp), (width, height), fps=fps, codec="libx264", pix_fmt_out="yuv420p", quality=quality,
            macro_block_size=1, ffmpeg_log_level="error", output_params=["-movflags", "+faststart"],
        )
        writer.send(None)
        for frame in frames:
            writer.send(np.ascontiguousarray(frame))
        writer.close()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_video(path: Path, max_frames: int = MAX_EVAL_FRAMES) -> tuple[np.ndarray, float]:
    """Read a video file into (frames (T, H, W, 3) uint8, fps); a clear error if it is not a video."""
    import imageio_ffmpeg

    path = Path(path)
    if not path.is_file():
        raise StudioError(f"video {path} does not exist")
    try:
        reader = imageio_ffmpeg.read_frames(str(path))
        meta = reader.__next__()
        width, height = meta["size"]
        frames = []
        for raw in reader:
            frames.append(np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3))
            if len(frames) > max_frames:
                reader.close()
                raise StudioError(f"{path} has more than {max_frames} frames; trim it first")
    except (RuntimeError, OSError, StopIteration, KeyError) as error:
        raise StudioError(f"{path} is not a readable video ({str(error).strip().splitlines()[0][:120] if str(error).strip() else type(error).__name__})") from None
    if not frames:
        raise StudioError(f"{path} has no frames")
    return np.stack(frames), float(meta.get("fps") or 0.0)


def save_frames(frames: np.ndarray, path: Path) -> Path:
    """Save a chunk's frames as npz, atomically (a reader never sees a truncated chunk)."""
    frames = check_frames(frames)
    path = Path(path)
    tmp = _temp_beside(path, ".npz")
    try:
        with open(tmp, "wb") as handle:
            np.savez(handle, frames=frames)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_frames(path: Path) -> np.ndarray:
    """Load a chunk's frames; a corrupt or missing file gets a clear error."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            frames = data["frames"]
    except FileNotFoundError:
        raise StudioError(f"chunk file {path} is missing; regenerate that chunk") from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise StudioError(f"chunk file {path} is corrupt ({type(error).__name__}); regenerate that chunk") from None
    return check_frames(frames, str(path))


def load_scene_frames(project_dir: Path, scene, *, only_ready: bool = True) -> np.ndarray:
    """All frames of a scene's draft, from its chunk files in order.

    Chunk k's file holds the frames it adds to the video: 16 for chunk 0, 8 for each later chunk (its
    first 8 frames re-create the previous chunk's last 8 and are not kept). With `only_ready`, the
    draft stops at the first chunk that is not ready (stale or failed chunks are not shown as final).
    """
    from studio.project import ProjectPaths

    paths = ProjectPaths(project_dir)
    parts = []
    for chunk in scene.chunks:
        if only_ready and chunk.status != "ready":
            break
        if not chunk.frames:
            break
        parts.append(load_frames(paths.absolute(chunk.frames)))
    if not parts:
        raise StudioError(f"scene {scene.id!r} has no finished chunks yet; run `generate` first")
    return np.concatenate(parts)  # (T, H, W, 3)


def concat_mp4(segments: list[Path], path: Path) -> Path:
    """Join mp4 segments written by `write_mp4` (same size, fps and codec) without re-encoding.

    A stream copy costs a file copy, not an encode, so updating a scene's draft after each chunk
    stays cheap however long the scene gets (the time per chunk does not grow with the chunk count).
    """
    import subprocess

    import imageio_ffmpeg

    if not segments:
        raise StudioError("no video segments to join")
    path = Path(path)
    tmp = _temp_beside(path, ".mp4")
    listing = _temp_beside(path, ".txt")
    try:
        # The concat demuxer reads a list file; quote paths so odd characters cannot break it.
        listing.write_text("".join(f"file '{str(Path(s).resolve()).replace(chr(39), chr(39) + chr(92) + chr(39) + chr(39))}'\n"
                                   for s in segments), encoding="utf-8")
        command = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error", "-f", "concat", "-safe", "0", "-i", str(listing),
                   "-c", "copy", "-movflags", "+faststart", str(tmp)]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise StudioError(f"could not join {len(segments)} video segments into {path.name} ({result.stderr.strip()[:160]})")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        listing.unlink(missing_ok=True)
    return path
