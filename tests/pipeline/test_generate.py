"""Stage 3 on a project folder with the tiny models: chunk counts, reproducibility, stale chunks,
stop and resume, the CAM's input, bad input."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest
import torch

from studio.errors import StudioError
from studio.generate.stage import generate_scene, regenerate_chunk
from studio.media.video import load_frames, load_scene_frames, read_video
from studio.project.model import Scene, Script, load_project, new_project, save_project
from tests.chunk_files import chunk_npz


@pytest.fixture(scope="module")
def preset(tiny_preset):
    # 16x16 frames and 2 steps: the same code paths as `tiny`, four times less work.
    streaming = dataclasses.replace(tiny_preset.streaming, width=16, height=16, steps=2, max_chunks=6)
    return dataclasses.replace(tiny_preset, streaming=streaming)


def make_project(path, n_chunks=3):
    scene = Scene(id="s1", title="fox", event="a fox runs", background="a forest", n_chunks=n_chunks, seed=7)
    save_project(new_project("p", "tiny", Script(prompt="a fox", scenes=[scene])), path)
    return path


def scene_of(path):
    return load_project(path).script.scene("s1")


@pytest.fixture(scope="module")
def finished(tmp_path_factory, preset):
    """One uninterrupted 3-chunk run, shared by the tests that only read it."""
    path = make_project(tmp_path_factory.mktemp("finished") / "p")
    events = list(generate_scene(path, preset, "s1"))
    return path, events


def test_n_chunks_give_16_plus_8_per_extra_chunk(finished):
    path, events = finished
    assert [e.index for e in events] == [0, 1, 2]
    assert [e.num_frames for e in events] == [16, 8, 8]
    assert [e.seed for e in events] == [7000, 7001, 7002]  # scene.chunk_seed(k)
    assert all(e.frames_path.is_file() and e.preview_path.is_file() and e.stale == [] for e in events)
    scene = scene_of(path)
    assert [c.status for c in scene.chunks] == ["ready"] * 3
    assert scene.chunks[1].prompt == "static camera, a fox runs, a forest"
    frames = load_scene_frames(path, scene)
    assert frames.shape == (32, 16, 16, 3)
    assert read_video(path / "scenes/s1/draft.mp4")[0].shape[0] == 32
    assert (path / "scenes" / "s1" / "anchor.png").is_file()  # frame 0 of chunk 0, for text-only scenes
    assert frames.std() > 0  # real decoded pictures, not a constant


def test_regeneration_with_the_recorded_seed_is_bit_identical(finished, preset, tmp_path):
    path, _ = finished
    before = load_frames(chunk_npz(path, "s1", 1))
    event = regenerate_chunk(path, preset, "s1", 1)
    assert event.seed == 7001 and event.stale == []  # same frames: nothing downstream changed
    assert np.array_equal(load_frames(chunk_npz(path, "s1", 1)), before)


def test_new_seed_marks_later_chunks_stale_and_continue_remakes_them(tmp_path, preset):
    path = make_project(tmp_path / "p")
    list(generate_scene(path, preset, "s1"))
    old = load_frames(chunk_npz(path, "s1", 1))
    event = regenerate_chunk(path, preset, "s1", 1, seed=123, prompt="a fox jumps")
    assert event.stale == [2] and event.seed == 123
    scene = scene_of(path)
    assert [c.status for c in scene.chunks] == ["ready", "ready", "stale"]
    assert scene.chunks[1].prompt == "a fox jumps" and scene.chunks[1].seed == 123
    assert not np.array_equal(load_frames(chunk_npz(path, "s1", 1)), old)
    assert read_video(path / "scenes/s1/draft.mp4")[0].shape[0] == 24  # the draft stops before the stale chunk
    remade = list(generate_scene(path, preset, "s1"))
    assert [e.index for e in remade] == [2]
    assert [c.status for c in scene_of(path).chunks] == ["ready"] * 3


class StopAfter:
    """A stop flag that turns on after `calls` checks (each denoising step checks once)."""

    def __init__(self, calls):
        self.calls = calls

    def is_set(self):
        self.calls -= 1
        return self.calls < 0


def test_interrupted_run_keeps_finished_chunks_and_resumes_to_the_same_video(tmp_path, preset, finished):
    path = make_project(tmp_path / "p")
    stop = threading.Event()
    events = []
    for event in generate_scene(path, preset, "s1", stop=stop):
        events.append(event)
        if event.index == 1:
            stop.set()  # stop after chunk 1
    assert [e.index for e in events] == [0, 1]
    assert len(scene_of(path).chunks) == 2
    # A stop in the middle of chunk 2's denoising: nothing half-written.
    assert list(generate_scene(path, preset, "s1", stop=StopAfter(1 + preset.streaming.steps // 2))) == []
    assert not (path / "scenes/s1/chunks/002").exists()
    assert not [p for p in (path / "scenes/s1").iterdir() if p.name.startswith(".")]  # no temp files left
    resumed = list(generate_scene(path, preset, "s1"))
    assert [e.index for e in resumed] == [2]
    reference = load_scene_frames(finished[0], scene_of(finished[0]))
    assert np.array_equal(load_scene_frames(path, scene_of(path)), reference)


def test_cam_receives_the_previous_chunks_last_frames(tmp_path, preset):
    from PIL import Image

    from studio.generate.sampler import build_streaming_model

    path = make_project(tmp_path / "p", n_chunks=2)  # with a scene image: image.png
    image = (np.arange(16 * 16 * 3).reshape(16, 16, 3) % 251).astype(np.uint8)
    (path / "scenes/s1").mkdir(parents=True)
    Image.fromarray(image).save(path / "scenes/s1/image.png")
    seen = []
    encoder = build_streaming_model(preset).cam.encoder.controlnet_cond_embedding
    handle = encoder.register_forward_hook(lambda mod, args, out: seen.append(args[0].clone()))
    try:
        list(generate_scene(path, preset, "s1"))
    finally:
        handle.remove()
    def as_cam_input(frames):  # (Fc, H, W, 3) uint8 -> (2*Fc, 3, H, W) in [-1, 1], both guidance branches
        tensor = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 127.5 - 1
        return torch.cat([tensor, tensor])

    assert len(seen) == 2  # the conditioning frames are encoded once per chunk, not once per denoising step
    assert torch.equal(seen[0], as_cam_input(np.repeat(image[None], 8, axis=0)))  # chunk 0: the scene image
    last8 = load_frames(chunk_npz(path, "s1", 0))[-8:]
    assert torch.equal(seen[1], as_cam_input(last8))  # chunk 1: chunk 0's last 8 frames
    assert load_scene_frames(path, scene_of(path)).shape[0] == 24


def test_num_chunks_updates_the_scene(tmp_path, preset):
    path = make_project(tmp_path / "p", n_chunks=3)
    events = list(generate_scene(path, preset, "s1", num_chunks=1))
    assert [e.index for e in events] == [0] and scene_of(path).n_chunks == 1


def test_bad_input_is_a_clear_error_that_changes_nothing(finished, preset):
    path, _ = finished
    project_bytes = (path / "project.json").read_bytes()
    for chunks in (0, -1, 7):
        with pytest.raises(StudioError, match=f"number of chunks {chunks} must be between 1 and 6"):
            list(generate_scene(path, preset, "s1", num_chunks=chunks))
    with pytest.raises(StudioError, match="scene 'nope' is not in the script"):
        list(generate_scene(path, preset, "nope"))
    with pytest.raises(StudioError, match="has no chunk 3"):
        regenerate_chunk(path, preset, "s1", 3)
    with pytest.raises(StudioError, match="has no chunk -1"):
        regenerate_chunk(path, preset, "s1", -1)
    assert (path / "project.json").read_bytes() == project_bytes


def test_corrupt_chunk_file_is_named_and_nothing_is_lost(tmp_path, preset):
    path = make_project(tmp_path / "p", n_chunks=2)
    list(generate_scene(path, preset, "s1", num_chunks=1))
    (chunk_npz(path, "s1", 0)).write_bytes(b"garbage")
    project_bytes = (path / "project.json").read_bytes()
    with pytest.raises(StudioError, match=r"take_01\.npz is corrupt"):
        list(generate_scene(path, preset, "s1", num_chunks=2))
    assert (path / "project.json").read_bytes() == project_bytes
    assert not (path / "scenes/s1/chunks/001").exists()
    event = regenerate_chunk(path, preset, "s1", 0)  # the way out: remake the corrupt chunk
    assert event.num_frames == 16 and load_frames(event.frames_path).shape == (16, 16, 16, 3)


def test_animatic_backend_is_called_with_the_memory(tmp_path, preset, monkeypatch):
    """Every frame of a chunk is different (10 * (chunk + 1) + frame), so the memory is checked frame by frame:
    catches an anchor taken from the last frame of chunk 0 (or any frame but frame 0), and a context that is not
    the previous chunk's last 8 frames."""
    import sys
    import types

    calls = []

    def render_chunk(preset_, script, scene, index, context, anchor, seed, prompt):
        calls.append((index, None if context is None else context.copy(), anchor, seed, prompt))
        count = 16 if index == 0 else 8
        frames = np.empty((count, 16, 16, 3), dtype=np.uint8)
        frames[:] = (10 * (index + 1) + np.arange(count)).reshape(count, 1, 1, 1)
        return frames

    monkeypatch.setitem(sys.modules, "studio.animatic", types.SimpleNamespace(render_chunk=render_chunk))
    animatic = dataclasses.replace(preset, models=dataclasses.replace(preset.models, backend="animatic"))
    path = make_project(tmp_path / "p", n_chunks=3)
    list(generate_scene(path, animatic, "s1"))
    assert [c[0] for c in calls] == [0, 1, 2]
    assert calls[0][1] is None and calls[0][2] is None  # text-only chunk 0
    assert calls[1][1].shape == (8, 16, 16, 3) and [int(f[0, 0, 0]) for f in calls[1][1]] == list(range(18, 26))
    assert calls[2][1].shape == (8, 16, 16, 3) and [int(f[0, 0, 0]) for f in calls[2][1]] == list(range(20, 28))
    for index in (1, 2):  # anchor = frame 0 of chunk 0 (10), not its last frame (25)
        assert calls[index][2].shape == (16, 16, 3) and (calls[index][2] == 10).all(), index
    assert load_scene_frames(path, scene_of(path)).shape[0] == 32
