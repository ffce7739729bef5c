"""Several regenerations in one job: the same chunks as one regeneration at a time, a stop keeps the
finished ones, and a bad request stops the job before anything is made."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest

from studio.cli import main
from studio.errors import StudioError
from studio.generate.batch import RegenerateRequest, job_order, regenerate_chunks
from studio.generate.stage import regenerate_chunk
from studio.media.video import load_frames
from studio.project.model import MAX_PROMPT_CHARS, MAX_SEED, Chunk, load_project, save_project
from tests.pipeline.small_projects import copy_of, generated, small_preset, small_preset_file, snapshot  # noqa: F401
from tests.chunk_files import chunk_npz


def records(path):
    """Every chunk record without its wall time and the time it was made (its takes' too), scene by scene."""
    return {scene.id: [dataclasses.replace(chunk, seconds=0, made="", takes=[dataclasses.replace(take, seconds=0, made="")
                                                                             for take in chunk.takes])
                       for chunk in scene.chunks]
            for scene in load_project(path).script.scenes}


def frames(path):
    return {f"{scene}:{index}": load_frames(chunk_npz(path, scene, index)) for scene in ("s0", "s1") for index in (0, 1)}


@pytest.fixture(scope="module")
def singles(generated, tmp_path_factory, small_preset):
    """Two single regenerations, one in each scene: what a job of the same two requests must make."""
    path = copy_of(generated, tmp_path_factory.mktemp("singles"))
    regenerate_chunk(path, small_preset, "s1", 0, seed=11, prompt="a fox sleeps")
    regenerate_chunk(path, small_preset, "s0", 1, seed=12, prompt="a fox sleeps")
    return path


def test_a_job_of_two_scenes_is_two_single_regenerations(generated, singles, tmp_path, small_preset):
    job = copy_of(generated, tmp_path)
    heard = []
    result = regenerate_chunks(job, small_preset, [RegenerateRequest("s1", 0, seed=11, prompt="a fox sleeps"),
                                                   RegenerateRequest("s0", 1, seed=12, prompt="a fox sleeps")],
                               on_event=lambda i, total, event: heard.append((i, total, event.scene_id, event.index)))
    assert heard == [(0, 2, "s1", 0), (1, 2, "s0", 1)]
    assert not result.stopped and result.remaining == [] and [e.stale for e in result.done] == [[1], []]
    ours, theirs = frames(job), frames(singles)
    for name in ours:
        assert np.array_equal(ours[name], theirs[name]), name  # bit-identical
    for name in ("s1:0", "s0:1"):  # and really made again: a no-op cannot pass
        assert not np.array_equal(ours[name], frames(generated)[name])
    assert records(job) == records(singles)
    assert [c.status for c in load_project(job).script.scene("s1").chunks] == ["ready", "stale"]


def test_the_command_line_takes_several_chunks(generated, singles, tmp_path, small_preset_file, capsys):
    job = copy_of(generated, tmp_path)
    # SCENE:K:SEED has its own seed; --seed and --prompt are for every chunk (--seed: those without their own).
    # (--scene with a chunk of another scene is a contradiction, refused: see test_cli.)
    assert main(["regenerate", str(job), "--preset", str(small_preset_file), "--chunk", "s0:1",
                 "--chunk", "s1:0:11", "--seed", "12", "--prompt", "a fox sleeps"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if " remade " in line] == [
        "s0 chunk 1 remade with seed 12 as take 2; later chunks are stale: []",
        "s1 chunk 0 remade with seed 11 as take 2; later chunks are stale: [1]"]
    assert [line.split(":")[0] for line in out if ": anchor:" in line] == ["s0", "s1"]  # which anchor holds each scene
    assert records(job) == records(singles)
    assert all(np.array_equal(a, b) for a, b in zip(frames(job).values(), frames(singles).values()))


def test_one_scene_runs_in_chunk_order():
    requests = [RegenerateRequest("s0", 2), RegenerateRequest("s1", 1), RegenerateRequest("s0", 0),
                RegenerateRequest("s1", 0)]
    assert [(r.scene_id, r.chunk_index) for r in job_order(requests)] == [("s0", 0), ("s0", 2), ("s1", 0), ("s1", 1)]


def test_a_stop_after_the_first_chunk_keeps_it_and_reports_the_rest(generated, tmp_path, small_preset):
    path = copy_of(generated, tmp_path)
    stop = threading.Event()
    requests = [RegenerateRequest("s0", 0, seed=31), RegenerateRequest("s1", 1, seed=32)]
    heard = []

    def on_event(position, total, event):
        heard.append((position, total))
        stop.set()

    result = regenerate_chunks(path, small_preset, requests, stop=stop, on_event=on_event)
    assert heard == [(0, 2)]
    assert result.stopped and [(e.scene_id, e.index) for e in result.done] == [("s0", 0)]
    assert result.remaining == [requests[1]]
    project = load_project(path)
    assert project.script.scene("s0").chunks[0].seed == 31
    assert project.script.scene("s1").chunks == load_project(generated).script.scene("s1").chunks  # untouched
    assert np.array_equal(load_frames(chunk_npz(path, "s1", 1)), load_frames(chunk_npz(generated, "s1", 1)))


@pytest.mark.parametrize("bad, message", [
    (RegenerateRequest("nope", 0), "scene 'nope' is not in the script (known: s0, s1)"),
    (RegenerateRequest("s1", 2), "scene 's1' has no chunk 2 (chunks 0-1)"),
    (RegenerateRequest("s1", 0, seed=MAX_SEED + 1), f"seed {MAX_SEED + 1} must be a whole number from 0 to {MAX_SEED}"),
    (RegenerateRequest("s1", 0, seed=-1), "must be a whole number from 0"),
    (RegenerateRequest("s1", 0, prompt="x" * (MAX_PROMPT_CHARS + 1)), f"the limit is {MAX_PROMPT_CHARS}"),
    (RegenerateRequest("s1", 0, prompt="  "), "the new prompt is empty"),
    (RegenerateRequest("s0", 0, seed=3), "chunk 0 of scene 's0' is asked for twice"),
])
def test_a_bad_request_fails_the_whole_job_before_anything_is_made(generated, tmp_path, small_preset, bad, message):
    path = copy_of(generated, tmp_path)
    before = snapshot(path)
    with pytest.raises(StudioError) as error:
        regenerate_chunks(path, small_preset, [RegenerateRequest("s0", 0, seed=1), bad])
    assert message in str(error.value) and "\n" not in str(error.value)
    assert snapshot(path) == before  # the good request before it was not made either


def test_a_gap_a_regeneration_makes_stale_is_refused_first(generated, tmp_path, small_preset_file, capsys):
    path = copy_of(generated, tmp_path)
    project = load_project(path)  # a third chunk on record: only the records are read before a job starts
    project.script.scene("s0").n_chunks = 3
    project.script.scene("s0").chunks.append(Chunk(index=2, seed=9, prompt="a fox"))
    save_project(project, path)
    before = snapshot(path)
    assert main(["regenerate", str(path), "--preset", str(small_preset_file), "--chunk", "s0:0", "--chunk", "s0:2"]) == 2
    err = capsys.readouterr().err
    assert "makes chunk 1 stale before chunk 2 is made from it" in err and err.count("\n") == 1
    assert main(["regenerate", str(path), "--chunk", "3"]) == 2
    assert "names no scene: add --scene ID" in capsys.readouterr().err
    assert main(["regenerate", str(path), "--chunk", "s0:x"]) == 2
    assert "is not a whole number" in capsys.readouterr().err
    assert snapshot(path) == before


def test_keep_later_is_refused_first_where_regenerate_cannot_keep_them(generated, tmp_path, small_preset):
    def regenerate_without_takes(project_dir, preset, scene_id, chunk_index, *, seed=None, prompt=None, stop=None):
        return regenerate_chunk(project_dir, preset, scene_id, chunk_index, seed=seed, prompt=prompt, stop=stop)

    path = copy_of(generated, tmp_path)
    before = snapshot(path)
    with pytest.raises(StudioError, match="keeping the later chunks needs chunk takes"):
        regenerate_chunks(path, small_preset, [RegenerateRequest("s0", 0, seed=1), RegenerateRequest("s1", 0, keep_later=True)],
                          regenerate=regenerate_without_takes)
    assert snapshot(path) == before
