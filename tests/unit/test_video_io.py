"""Video and chunk files: h.264 mp4 read back frame for frame; atomic, validated chunk files."""

import subprocess
from pathlib import Path

import numpy as np
import pytest

from studio.errors import StudioError
from studio.media.video import load_frames, load_scene_frames, read_video, save_frames, write_mp4
from studio.project.model import Chunk, Scene
from studio.project.paths import ProjectPaths


def gradient_frames(count=12, size=32):
    x = np.linspace(0, 255, size, dtype=np.float32)
    frames = [np.stack([np.roll(np.broadcast_to(x, (size, size)), 2 * t, axis=1)] * 3, axis=-1) for t in range(count)]
    return np.asarray(frames, dtype=np.uint8)


def test_mp4_is_h264_yuv420p_with_every_frame(tmp_path):
    frames = gradient_frames()
    path = write_mp4(frames, tmp_path / "clip.mp4", fps=8)
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries",
                            "stream=codec_name,pix_fmt,nb_read_frames", "-of", "csv=p=0", str(path)],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert probe == "h264,yuv420p,12"
    back, fps = read_video(path)
    assert back.shape == frames.shape and fps == 8
    assert np.abs(back.astype(int) - frames.astype(int)).mean() < 6  # lossy, but close
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]


def test_chunk_files_round_trip_exactly_and_refuse_corruption(tmp_path):
    frames = gradient_frames(8)
    path = save_frames(frames, tmp_path / "chunk_000.npz")
    assert np.array_equal(load_frames(path), frames)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(StudioError, match="corrupt"):
        load_frames(path)
    with pytest.raises(StudioError, match="missing"):
        load_frames(tmp_path / "chunk_009.npz")
    with pytest.raises(StudioError, match="uint8"):
        save_frames(frames.astype(np.float32), tmp_path / "x.npz")


def test_scene_frames_concatenate_ready_chunks_only(tmp_path):
    first, second, third = gradient_frames(16), gradient_frames(8), gradient_frames(8)
    paths = ProjectPaths(tmp_path)
    for index, frames in enumerate((first, second, third)):
        target = paths.take_file("s", index, 1, "npz")
        target.parent.mkdir(parents=True)
        save_frames(frames, target)
    chunks = [Chunk(index=i, seed=i, prompt="p") for i in range(3)]
    scene = Scene(id="s", title="s", event="e", chunks=chunks)
    assert load_scene_frames(tmp_path, scene).shape[0] == 32
    chunks[2].status = "stale"
    assert load_scene_frames(tmp_path, scene).shape[0] == 24
    with pytest.raises(StudioError, match="no finished chunks"):
        load_scene_frames(tmp_path, Scene(id="t", title="t", event="e"))


def test_not_a_video_is_a_clear_error(tmp_path):
    bogus = tmp_path / "notes.mp4"
    bogus.write_text("hello")
    with pytest.raises(StudioError, match="not a readable video"):
        read_video(bogus)
    with pytest.raises(StudioError, match="does not exist"):
        read_video(tmp_path / "missing.mp4")


KILLED_MID_WRITE = """
import os, signal, sys
import numpy as np
from studio.media.video import save_frames

def dies_half_way(handle, **arrays):  # the process is killed after half a chunk reached the disk
    handle.write(b"PK\\x03\\x04" + bytes(1000))
    handle.flush()
    os.fsync(handle.fileno())
    os.kill(os.getpid(), signal.SIGKILL)

np.savez = dies_half_way
save_frames(np.full((8, 32, 32, 3), 7, np.uint8), sys.argv[1])
"""


def test_a_kill_mid_write_leaves_the_old_chunk_file(tmp_path):
    """A process SIGKILLed while save_frames writes leaves the previous file whole and readable, and only a
    dot-named temporary file beside it (which the sweep at the start of a run removes). Catches save_frames
    writing the chunk file in place (no temporary file and rename): the old frames would be half overwritten."""
    import sys
    from pathlib import Path

    from studio.project.paths import remove_temp_files

    old = gradient_frames(8)
    path = save_frames(old, tmp_path / "scene" / "some_chunk.npz")
    root = Path(__file__).resolve().parents[2]
    killed = subprocess.run([sys.executable, "-c", KILLED_MID_WRITE, str(path)], cwd=root, capture_output=True)
    assert killed.returncode == -9, killed.stderr.decode()[-500:]
    assert np.array_equal(load_frames(path), old)
    leftovers = [p.name for p in path.parent.iterdir() if p != path]
    assert leftovers and all(name.startswith(".") for name in leftovers), leftovers
    remove_temp_files(path.parent)
    assert [p.name for p in path.parent.iterdir()] == [path.name]


WRITE_UNDER_A_FILE_SIZE_LIMIT = """
import resource, signal, sys
import numpy as np
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (3000, 3000))
from studio.errors import StudioError
from studio.media.video import write_mp4
frames = np.random.default_rng(0).integers(0, 255, (40, 64, 64, 3), dtype=np.uint8)
try:
    write_mp4(frames, sys.argv[1], 8)
except StudioError as error:
    print(error)
    sys.exit(2)
"""


def test_a_video_that_cannot_be_written_whole_is_one_line_and_replaces_nothing(tmp_path):
    """Bugs caught: imageio never checks how ffmpeg ended, so a write that failed part-way (a full disk)
    replaced the video with a cut file and reported success; a dead ffmpeg gave its 12-line dump."""
    import subprocess
    import sys

    target = tmp_path / "scene.mp4"
    target.write_bytes(b"the previous video")
    done = subprocess.run([sys.executable, "-c", WRITE_UNDER_A_FILE_SIZE_LIMIT, str(target)], capture_output=True,
                          text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(done.stdout.strip().splitlines()) == 1 and "could not write the video scene.mp4" in done.stdout
    assert target.read_bytes() == b"the previous video"
    assert [p.name for p in tmp_path.iterdir()] == ["scene.mp4"]  # no temporary file left


def test_a_full_disk_says_where_to_free_space_in_one_line(tmp_path, monkeypatch, capsys):
    """Bug caught: a full disk said "check the paths given" (the paths were fine), and an OSError carrying
    a library's multi-line log printed all of it."""
    import errno

    import studio.metrics as report
    from studio.cli import main

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "plots" / "x.png"))

    monkeypatch.setattr(report, "evaluate_video", full)
    assert main(["eval", str(tmp_path / "any.mp4")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "check the paths" not in err
    assert f"no space left writing into {tmp_path / 'plots'}" in err and "free space there" in err and "df -h /" in err

    def dump(*args, **kwargs):
        raise OSError("[Errno 32] Broken pipe\n\nFFMPEG COMMAND:\nffmpeg -y ...\n\nFFMPEG STDERR OUTPUT:\n" + "x\n" * 9)

    monkeypatch.setattr(report, "evaluate_video", dump)
    assert main(["eval", str(tmp_path / "any.mp4")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
