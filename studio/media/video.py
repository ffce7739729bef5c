"""Frames in and out: h.264 mp4 files that browsers play, and chunk frame files (npz).

Frames are uint8 arrays of shape (T, H, W, 3). Every file is written to a temporary name and renamed,
so a crash never leaves a half-written video or chunk that looks finished.
"""

from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from studio.errors import StudioError, first_line
from studio.project.paths import atomic_path

logger = logging.getLogger(__name__)

MAX_EVAL_FRAMES = 10_000
# Bounds on any chunk file, whatever the preset: a chunk holds 16-32 frames at most a few hundred pixels a side.
MAX_CHUNK_FRAMES = 256
MAX_CHUNK_SIDE = 2048


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
    frames = check_frames(frames)
    height, width = frames.shape[1:3]
    write_mp4_frames(iter(frames), path, width, height, fps, quality)
    return Path(path)


def write_mp4_frames(frames: Iterable[np.ndarray], path: Path, width: int, height: int, fps: int,
                     quality: int = 8) -> int:
    """Stream (H, W, 3) uint8 frames into an h.264 / yuv420p mp4 at `path`, atomically; returns the frame count.

    Frames are sent one at a time, so a long video never sits whole in memory.
    """
    import imageio_ffmpeg

    even_width, even_height = width - width % 2, height - height % 2  # yuv420p needs even sizes
    count = 0
    with atomic_path(Path(path), suffix=".mp4") as tmp:
        writer = imageio_ffmpeg.write_frames(
            str(tmp), (even_width, even_height), fps=fps, codec="libx264", pix_fmt_out="yuv420p", quality=quality,
            macro_block_size=1, ffmpeg_log_level="error", output_params=["-movflags", "+faststart"],
        )
        writer.send(None)
        try:
            for frame in frames:
                writer.send(np.ascontiguousarray(frame[:even_height, :even_width]))
                count += 1
        except OSError as error:  # ffmpeg died: imageio's message is its command and log, a dozen lines
            logger.info("ffmpeg failed writing %s: %s", path, error)
            raise StudioError(_write_failure(Path(path), f"ffmpeg stopped after {count} frames")) from None
        finally:
            writer.close()
        # imageio does not check how ffmpeg ended: a write that failed (a full disk) leaves a cut file.
        written = _frames_in(tmp)
        if written != count:
            raise StudioError(_write_failure(Path(path), f"the file holds {written} of its {count} frames"))
    return count


def _frames_in(path: Path) -> int:
    """Frames in the video at `path`, from its packets (no decoding); 0 when unreadable."""
    import imageio_ffmpeg

    try:
        return int(imageio_ffmpeg.count_frames_and_secs(str(path))[0])
    except (RuntimeError, OSError, ValueError):
        return 0


def _write_failure(path: Path, what: str) -> str:
    """One line for a video that could not be written: a full disk says where to free space."""
    import errno
    import shutil

    from studio.errors import no_space_message

    free = shutil.disk_usage(path.parent).free
    if free < 64 * 2**20:  # ffmpeg does not say why in a way we can read; a disk this full is the likely cause
        return no_space_message(OSError(errno.ENOSPC, "no space", str(path)))
    return f"could not write the video {path.name} ({what}); nothing was replaced (details with -v)"


def read_video(path: Path, max_frames: int = MAX_EVAL_FRAMES) -> tuple[np.ndarray, float]:
    """Read a video file into (frames (T, H, W, 3) uint8, fps); a clear error if it is not a video."""
    reader = VideoBatches(path, batch_frames=max_frames + 1, max_frames=max_frames)
    return np.concatenate(list(reader)), reader.fps


class VideoBatches:
    """A video file's frames, decoded in batches of at most `batch_frames` (B, H, W, 3) uint8, so a long
    video is measured without being held whole; `fps`, `size` and `frames` (so far) as it goes.
    More than `max_frames` frames, a file that is not a video, or no frame at all: one-line errors."""

    def __init__(self, path: Path, batch_frames: int = 32, max_frames: int = MAX_EVAL_FRAMES):
        self.path, self.batch_frames, self.max_frames = Path(path), int(batch_frames), int(max_frames)
        self.fps, self.size, self.frames = 0.0, (0, 0), 0

    def __iter__(self) -> Iterator[np.ndarray]:
        import imageio_ffmpeg

        if not self.path.is_file():
            raise StudioError(f"video {self.path} does not exist")
        try:
            reader = imageio_ffmpeg.read_frames(str(self.path))
            try:
                meta = reader.__next__()
                width, height = self.size = tuple(meta["size"])
                self.fps = float(meta.get("fps") or 0.0)
                batch = []
                for raw in reader:
                    batch.append(np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3))
                    self.frames += 1
                    if self.frames > self.max_frames:
                        raise StudioError(f"{self.path} has more than {self.max_frames} frames; trim it first")
                    if len(batch) == self.batch_frames:
                        yield np.stack(batch)
                        batch = []
                if batch:
                    yield np.stack(batch)
            finally:
                reader.close()
        except (RuntimeError, OSError, StopIteration, KeyError) as error:
            raise StudioError(f"{self.path} is not a readable video ({first_line(error, 120)})") from None
        if not self.frames:
            raise StudioError(f"{self.path} has no frames")


def save_frames(frames: np.ndarray, path: Path) -> Path:
    """Save a chunk's frames as npz, atomically (a reader never sees a truncated chunk)."""
    frames = check_frames(frames)
    with atomic_path(Path(path), suffix=".npz") as tmp, open(tmp, "wb") as handle:
        np.savez(handle, frames=frames)
        handle.flush()
        os.fsync(handle.fileno())
    return Path(path)


def chunk_shape(streaming, index: int) -> tuple[int, int, int]:
    """(frames, height, width) of chunk `index`'s file under a preset's streaming section."""
    count = streaming.frames_per_chunk if index == 0 else streaming.frames_per_chunk - streaming.context_frames
    return count, streaming.height, streaming.width


def _stored_shape(path) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype of the `frames` array in an npz (a path or an open file), from its header alone."""
    with zipfile.ZipFile(path) as archive, archive.open("frames.npy") as handle:
        version = np.lib.format.read_magic(handle)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(handle)
    return shape, dtype


def _check_stored_shape(path: Path, expected: tuple[int, int, int] | None, handle=None) -> None:
    """Refuse a chunk file whose header promises the wrong thing, before its frames are read into memory."""
    shape, dtype = _stored_shape(path if handle is None else handle)
    if dtype != np.uint8 or len(shape) != 4 or shape[-1] != 3:
        raise StudioError(f"chunk file {path} holds {dtype} frames of shape {shape}, not uint8 (T, H, W, 3); regenerate that chunk")
    frames, height, width = shape[:3]
    if frames > MAX_CHUNK_FRAMES or max(height, width) > MAX_CHUNK_SIDE:
        raise StudioError(f"chunk file {path} holds {frames} frames of {width}x{height}, more than any chunk "
                          f"({MAX_CHUNK_FRAMES} frames, {MAX_CHUNK_SIDE} pixels a side); regenerate that chunk")
    if expected is not None and tuple(shape[:3]) != tuple(expected):
        raise StudioError(f"chunk file {path} holds {frames} frames of {width}x{height}; the preset makes "
                          f"{expected[0]} frames of {expected[2]}x{expected[1]}: regenerate that chunk, or use the "
                          "preset it was made with")


def load_frames(path: Path, expected: tuple[int, int, int] | None = None) -> np.ndarray:
    """Load a chunk's frames; a corrupt, missing or oversized file gets a clear error.

    `expected` is the (frames, height, width) the preset makes (chunk_shape); without it only the
    bounds every chunk obeys are checked.
    """
    from studio.media.files import open_regular

    path = Path(path)
    try:
        with open_regular(path, "chunk file") as handle:  # a FIFO in its place would block for ever
            _check_stored_shape(path, expected, handle)
            handle.seek(0)
            with np.load(handle, allow_pickle=False) as data:
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
    from studio.project.paths import ProjectPaths

    paths = ProjectPaths(project_dir)
    parts = []
    for chunk in scene.chunks:
        if only_ready and chunk.status != "ready":
            break
        parts.append(load_frames(paths.chunk_frames(scene.id, chunk)))
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
    # The concat demuxer reads a list file (a scratch file, removed after); paths are quoted so odd
    # characters cannot break it.
    listing = path.parent / f".{path.stem}.segments.txt"
    listing.write_text("".join(f"file '{str(Path(s).resolve()).replace(chr(39), chr(39) + chr(92) + chr(39) + chr(39))}'\n"
                               for s in segments), encoding="utf-8")
    try:
        with atomic_path(path, suffix=".mp4") as tmp:
            command = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error", "-f", "concat", "-safe", "0", "-i",
                       str(listing), "-c", "copy", "-movflags", "+faststart", str(tmp)]
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode != 0:
                raise StudioError(f"could not join {len(segments)} video segments into {path.name} "
                                  f"({(result.stderr.strip().splitlines() or ['ffmpeg failed'])[-1][:160]})")
    finally:
        listing.unlink(missing_ok=True)
    return path
