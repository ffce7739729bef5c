"""Chunk takes and keep-later, through the command line, on the tiny models at 16x16 and 2 steps.

Regenerating a chunk keeps the old version as a take; `takes --use` brings it back bit for bit with no
model call, and the later chunks made from it are ready again; `regenerate --keep-later` keeps them
ready and heals the seam; an archive carries the takes; bad input is one line and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import yaml

from studio.cli import main
from studio.config import load_preset
from studio.errors import StudioError
from studio.export.archive import export_archive, import_archive
from studio.generate.stage import generate_scene, regenerate_chunk
from studio.generate.takes import list_takes, remove_take, use_take
from studio.media.video import load_frames, read_video
from studio.project.model import Scene, Script, load_project, new_project, save_project
from tests.chunk_files import chunk_mp4, chunk_npz, take_npz

NEW_SEED = 999


@pytest.fixture(scope="module")
def preset_file(tmp_path_factory):
    """The tiny preset at 16x16 and 2 steps, as a file the command line takes with --preset."""
    data = yaml.safe_load(open("presets/tiny.yaml", encoding="utf-8"))
    data["streaming"].update(width=16, height=16, steps=2, max_chunks=4)
    data["first_chunk"]["steps"] = 1
    path = tmp_path_factory.mktemp("preset") / "tiny16.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def preset(preset_file):
    return load_preset(preset_file)


@pytest.fixture(scope="module")
def made(tmp_path_factory, preset):
    """A scene of 4 chunks, made once; each test works on a copy."""
    path = tmp_path_factory.mktemp("takes") / "p"
    scene = Scene(id="s1", title="fox", event="a fox runs", background="a forest", n_chunks=4, seed=3)
    save_project(new_project("p", "tiny", Script(prompt="a fox", scenes=[scene])), path)
    list(generate_scene(path, preset, "s1"))
    return path


@pytest.fixture
def project(tmp_path, made):
    path = tmp_path / "p"
    shutil.copytree(made, path)
    return path


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def frames_of(path, index: int) -> np.ndarray:
    return load_frames(chunk_npz(path, "s1", index))


def chunks_of(path):
    return load_project(path).script.scene("s1").chunks


def tree(path) -> dict[str, str]:
    return {p.relative_to(path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


# Every route to a model: the chunk loop's maker, the streaming model (in process and on ZeroGPU), the
# first chunk's UNet, the refiner's SDEdit (seam healing goes through it), the seam healer and the model
# cache's getters. monkeypatch refuses a name that does not exist, so a renamed route fails here loudly.
MODEL_ROUTES = ("studio.generate.stage.make_chunk_frames", "studio.generate.gpu_chunk.make_streaming_chunk",
                "studio.generate.gpu_chunk.make_chunk_frames_on_gpu", "studio.generate.sampler.StreamingPipeline",
                "studio.generate.sampler.build_streaming_model", "studio.generate.first_chunk.base_unet_denoiser",
                "studio.models.sdedit.sdedit_frames", "studio.generate.seam.heal_seam",
                "studio.generate.gpu_chunk.heal_seam_in_gpu_call", "studio.models.cache.get_component", "studio.models.cache.cached",
                "studio.animatic.render_chunk")


def no_model(monkeypatch):
    """Any model called from here on fails the test: switching must not call one, by any route."""
    def refuse(*args, **kwargs):
        raise AssertionError("a model was called")
    for route in MODEL_ROUTES:
        monkeypatch.setattr(route, refuse)


def test_use_take_brings_the_original_back_and_the_chunks_made_from_it(project, preset_file, capsys, monkeypatch):
    original = [frames_of(project, i) for i in range(4)]
    original_previews = [chunk_mp4(project, "s1", i).read_bytes() for i in range(4)]
    code, out, _ = cli(capsys, "regenerate", project, "--scene", "s1", "--chunk", 2, "--seed", NEW_SEED, "--preset", preset_file)
    assert code == 0 and "as take 2" in out and "stale: [3]" in out and "anchor: frame 0 of chunk 0" in out
    assert not np.array_equal(frames_of(project, 2), original[2])
    chunks = chunks_of(project)
    assert (chunks[2].take, chunks[2].after_take, chunks[2].seed) == (2, 1, NEW_SEED)
    assert [t.number for t in chunks[2].takes] == [1] and chunks[3].status == "stale"
    assert [t.takes for t in chunks if t.index != 2] == [[], [], []]  # only the regenerated chunk stores a take

    code, out, _ = cli(capsys, "takes", project, "--scene", "s1", "--chunk", 2, "--json")
    listed = json.loads(out)
    assert [(t["take"], t["active"], t["seed"]) for t in listed] == [(1, False, chunks[2].takes[0].seed),
                                                                     (2, True, NEW_SEED)]
    assert all(t["made"].endswith("+00:00") for t in listed)

    no_model(monkeypatch)
    code, out, _ = cli(capsys, "takes", project, "--scene", "s1", "--chunk", 2, "--use", 1, "--preset", preset_file)
    assert code == 0 and "take 1 is active" in out and "ready: [3]" in out
    chunks = chunks_of(project)
    assert all(c.status == "ready" for c in chunks)
    for i in range(4):  # chunk 2 is the original bit for bit, and chunk 3 was never remade
        assert np.array_equal(frames_of(project, i), original[i]), i
        assert chunk_mp4(project, "s1", i).read_bytes() == original_previews[i]
    assert chunk_npz(project, "s1", 2) == project / "scenes/s1/chunks/002/take_01.npz"  # the take's own file, never copied
    assert [t.number for t in chunks[2].takes] == [2]  # the new version is kept as a take in turn
    assert sorted(p.name for p in (project / "scenes/s1/chunks/002").iterdir()) == [
        "take_01.mp4", "take_01.npz", "take_02.mp4", "take_02.npz"]
    draft = read_video(project / "scenes/s1/draft.mp4")[0]
    assert len(draft) == 16 + 3 * 8

    code, out, _ = cli(capsys, "takes", project, "--scene", "s1", "--chunk", 2, "--use", 2, "--preset", preset_file)
    assert code == 0 and "stale: [3]" in out  # chunk 3 was made from take 1
    assert chunks_of(project)[3].status == "stale"
    assert len(read_video(project / "scenes/s1/draft.mp4")[0]) == 16 + 2 * 8  # the draft stops at the stale chunk


def test_keep_later_keeps_the_later_chunks_ready_and_heals_the_seam(project, preset_file, capsys, monkeypatch):
    original = [frames_of(project, i) for i in range(4)]
    code, out, _ = cli(capsys, "regenerate", project, "--scene", "s1", "--chunk", 1, "--seed", NEW_SEED,
                       "--keep-later", "--preset", preset_file)
    assert code == 0 and "stale: []" in out
    line = next(line for line in out.splitlines() if line.startswith("seam with chunk 2 healed"))
    before, after = (float(x) for x in line.split("score ")[1].split(" (")[0].split(" -> "))
    assert np.isfinite(before) and np.isfinite(after)
    chunks = chunks_of(project)
    assert all(c.status == "ready" for c in chunks)
    assert (chunks[1].take, chunks[2].take, chunks[2].after_take, chunks[3].after_take) == (2, 2, 2, 2)
    assert not np.array_equal(frames_of(project, 2), original[2])  # chunk 2's healed frames ...
    assert np.array_equal(frames_of(project, 2)[-1], original[2][-1])  # ... fade out before its end
    assert np.array_equal(frames_of(project, 3), original[3])  # the chunk after is kept as it was
    kept = chunks[2].takes[0]
    assert kept.number == 1 and np.array_equal(load_frames(take_npz(project, "s1", 2, 1)), original[2])

    no_model(monkeypatch)
    switch = use_take(project, load_preset(preset_file), "s1", 2, 1)  # chunk 2 as it was: made from take 1 of chunk 1
    assert (switch.ready, switch.stale) == ([], [2, 3])
    switch = use_take(project, load_preset(preset_file), "s1", 1, 1)
    assert (switch.ready, switch.stale) == ([2], [3])  # chunk 3 was recorded as made from the healed take 2
    assert [np.array_equal(frames_of(project, i), original[i]) for i in range(4)] == [True] * 4


def test_an_archive_keeps_the_takes(project, preset, tmp_path, monkeypatch):
    original = frames_of(project, 2)
    regenerate_chunk(project, preset, "s1", 2, seed=NEW_SEED)
    archive = export_archive(project, tmp_path / "p.zip")
    imported = import_archive(archive, tmp_path / "root", "copy")
    assert [v.take for v in list_takes(imported, "s1", 2)] == [1, 2]
    no_model(monkeypatch)
    use_take(imported, preset, "s1", 2, 1)
    assert np.array_equal(frames_of(imported, 2), original)
    assert all(c.status == "ready" for c in chunks_of(imported))


def test_the_oldest_take_goes_beyond_max_takes(project, preset):
    import dataclasses

    two = dataclasses.replace(preset, streaming=dataclasses.replace(preset.streaming, max_takes=2))
    for seed in (11, 12, 13):
        regenerate_chunk(project, two, "s1", 3, seed=seed)
    chunk = chunks_of(project)[3]
    assert (chunk.take, [t.number for t in chunk.takes], chunk.takes[0].seed) == (4, [3], 12)
    assert sorted(p.name for p in (project / "scenes/s1/chunks/003").iterdir()) == [  # takes 1 and 2 freed
        "take_03.mp4", "take_03.npz", "take_04.mp4", "take_04.npz"]
    same = regenerate_chunk(project, two, "s1", 3, seed=13)  # the same seed and context: the same frames, no new take
    assert same.take == 4 and [t.number for t in chunks_of(project)[3].takes] == [3]


def test_bad_input_is_one_line_and_changes_nothing(project, preset, preset_file, capsys):
    regenerate_chunk(project, preset, "s1", 2, seed=NEW_SEED)
    before = tree(project)
    cases = [(["--use", 7], "has no take 7 (takes: 1, 2)"), (["--remove", 2], "is the active take"),
             (["--remove", 9], "has no take 9"), (["--chunk", 9, "--use", 1], "has no chunk 9")]
    for extra, message in cases:
        argv = ["takes", project, "--scene", "s1", "--chunk", 2, *extra, "--preset", preset_file]
        if "--chunk" in extra:
            argv = ["takes", project, "--scene", "s1", *extra, "--preset", preset_file]
        code, _, err = cli(capsys, *argv)
        assert code == 2 and err.startswith("error:") and err.count("\n") == 1 and message in err, (extra, err)
        assert tree(project) == before
    take_file = take_npz(project, "s1", 2, chunks_of(project)[2].takes[0].number)
    take_file.write_bytes(b"not a chunk")
    before = tree(project)
    code, _, err = cli(capsys, "takes", project, "--scene", "s1", "--chunk", 2, "--use", 1, "--preset", preset_file)
    assert code == 2 and err.count("\n") == 1 and "take 1 of chunk 2" in err and "--remove 1" in err
    assert tree(project) == before
    remove_take(project, "s1", 2, 1)  # what the message advises works, and frees the files
    assert not take_file.exists() and chunks_of(project)[2].takes == []


def test_a_take_does_not_switch_while_the_scene_generates_elsewhere(project, preset):
    regenerate_chunk(project, preset, "s1", 2, seed=NEW_SEED)
    before = tree(project)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from studio.project.scene_lock import scene_generating\n"
         f"with scene_generating({str(project)!r}, 's1'):\n    print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        for attempt in (lambda: use_take(project, preset, "s1", 2, 1), lambda: remove_take(project, "s1", 2, 1),
                        lambda: regenerate_chunk(project, preset, "s1", 3, seed=5)):
            with pytest.raises(StudioError, match="being generated by another process") as error:
                attempt()
            assert "\n" not in str(error.value)
        assert tree(project) == before | {k: v for k, v in tree(project).items() if k.endswith(".lock")}
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert use_take(project, preset, "s1", 2, 1).ready == [3]  # once it is done, the switch goes through
