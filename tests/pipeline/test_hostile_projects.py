"""Hostile or damaged project folders: each is one clear error before any work, or is repaired by a button."""

from __future__ import annotations

import numpy as np
import pytest

from studio.config import load_preset
from studio.errors import StudioError
from studio.generate.stage import generate_scene, regenerate_chunk
from studio.media.video import save_frames
from studio.project.model import Chunk, Scene, Script, load_project, new_project, save_project


@pytest.fixture(scope="module")
def animatic():
    return load_preset("animatic")


def make_project(path, chunks=()):
    scene = Scene(id="s1", title="fox", event="a fox runs", n_chunks=3, seed=7, chunks=list(chunks))
    save_project(new_project("p", "animatic", Script(prompt="a fox", scenes=[scene])), path)
    return path


@pytest.mark.parametrize("frames, match", [
    (np.zeros((300, 2, 2, 3), np.uint8), "more than any chunk"),  # a 300-frame "chunk" would hold the GPU
    (np.zeros((16, 8, 8, 3), np.uint8), "the preset makes 16 frames of"),  # the wrong size for this preset
])
def test_a_chunk_file_the_preset_cannot_have_made_is_refused_before_any_work(tmp_path, animatic, frames, match):
    save_frames(frames, tmp_path / "scenes" / "s1" / "chunks" / "000" / "take_01.npz")
    make_project(tmp_path, [Chunk(index=0, seed=1, prompt="p")])
    before = (tmp_path / "project.json").read_bytes()
    with pytest.raises(StudioError, match=match):
        list(generate_scene(tmp_path, animatic, "s1"))
    assert (tmp_path / "project.json").read_bytes() == before
    assert not (tmp_path / "scenes" / "s1" / "chunks" / "001").exists()


def test_a_regenerate_prompt_over_the_limit_is_refused_and_the_project_still_opens(tmp_path, animatic):
    make_project(tmp_path)
    list(generate_scene(tmp_path, animatic, "s1", num_chunks=1))
    before = (tmp_path / "project.json").read_bytes()
    with pytest.raises(StudioError, match="limit is 2000"):
        regenerate_chunk(tmp_path, animatic, "s1", 0, prompt="x" * 2001)
    assert (tmp_path / "project.json").read_bytes() == before
    load_project(tmp_path)


def test_a_corrupt_scene_image_is_made_again_by_make_references(tmp_path, animatic):
    from studio.references.stage import make_references

    image = tmp_path / "scenes" / "s1" / "image.png"
    image.parent.mkdir(parents=True)
    image.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    make_project(tmp_path)  # its scene image is image.png, where paths.py puts it
    with pytest.raises(StudioError, match="press Make references"):
        list(generate_scene(tmp_path, animatic, "s1", num_chunks=1))
    make_references(tmp_path, animatic, approve=True)  # what the message says to do
    assert [e.index for e in generate_scene(tmp_path, animatic, "s1", num_chunks=1)] == [0]


def test_a_lower_chunk_count_hides_chunks_and_keeps_their_seeds_and_prompts(tmp_path, animatic):
    from studio.media.video import load_scene_frames

    make_project(tmp_path)
    list(generate_scene(tmp_path, animatic, "s1"))
    regenerate_chunk(tmp_path, animatic, "s1", 2, seed=99, prompt="the fox sleeps")
    list(generate_scene(tmp_path, animatic, "s1", num_chunks=2))
    scene = load_project(tmp_path).script.scene("s1")
    assert scene.n_chunks == 2 and [c.status for c in scene.chunks] == ["ready", "ready", "hidden"]
    assert len(load_scene_frames(tmp_path, scene)) == 16 + 8  # the hidden chunk is not in the draft
    list(generate_scene(tmp_path, animatic, "s1", num_chunks=3))
    chunk = load_project(tmp_path).script.scene("s1").chunks[2]
    assert (chunk.status, chunk.seed, chunk.prompt) == ("ready", 99, "the fox sleeps")
