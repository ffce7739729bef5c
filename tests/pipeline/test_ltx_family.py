"""A scene records the model family of its chunks; a preset of the other family is refused in one line at every
stage that would touch them (generate, regenerate, takes, refine), and the project is left as it was."""

from __future__ import annotations

import json

import pytest

from studio.config import load_preset
from studio.errors import StudioError
from studio.generate.stage import generate_scene, regenerate_chunk
from studio.generate.takes import use_take
from studio.project.model import Scene, Script, load_project, new_project, save_project
from studio.refine.stage import refine_scene


@pytest.fixture(scope="module")
def animatic_made(tmp_path_factory):
    """One scene of one chunk made by the animatic (StreamingT2V's chunk shapes, no model: fast)."""
    path = tmp_path_factory.mktemp("family") / "p"
    scene = Scene(id="s1", title="fox", event="a fox runs", background="snow", n_chunks=1, seed=3)
    save_project(new_project("p", "animatic", Script(prompt="a fox", scenes=[scene])), path)
    list(generate_scene(path, load_preset("animatic"), "s1"))
    return path


def test_the_chunk_loop_records_the_family(animatic_made):
    """Bug caught: the family not saved with the chunks (nothing to refuse a mixed project by)."""
    assert load_project(animatic_made).script.scene("s1").family == "streaming-t2v"


@pytest.mark.parametrize("stage", ["generate", "regenerate", "takes", "refine"])
def test_an_ltx_preset_on_streaming_t2v_chunks_is_refused_in_one_line(animatic_made, stage):
    """Bug caught: LTX chunks appended to (or a refine of) a scene whose chunks StreamingT2V made."""
    before = (animatic_made / "project.json").read_bytes()
    ltx = load_preset("tiny-ltx")
    run = {"generate": lambda: list(generate_scene(animatic_made, ltx, "s1", num_chunks=2)),
           "regenerate": lambda: regenerate_chunk(animatic_made, ltx, "s1", 0, seed=5),
           "takes": lambda: use_take(animatic_made, ltx, "s1", 0, 1),
           "refine": lambda: refine_scene(animatic_made, ltx, "s1")}[stage]
    with pytest.raises(StudioError) as caught:
        run()
    message = str(caught.value)
    assert "made with StreamingT2V chunks" in message and "tiny-ltx" in message and "\n" not in message
    assert (animatic_made / "project.json").read_bytes() == before


def test_a_scene_saved_before_the_record_counts_as_streaming_t2v(animatic_made, tmp_path):
    """A project.json without `family` but with chunks was made by StreamingT2V, the only family then.
    Bug caught: an old project opened with an LTX preset and continued with LTX chunks."""
    import shutil

    path = tmp_path / "old"
    shutil.copytree(animatic_made, path)
    data = json.loads((path / "project.json").read_text())
    del data["script"]["scenes"][0]["family"]
    (path / "project.json").write_text(json.dumps(data))
    with pytest.raises(StudioError, match="made with StreamingT2V chunks"):
        list(generate_scene(path, load_preset("tiny-ltx"), "s1", num_chunks=2))


def test_a_streaming_t2v_preset_on_ltx_chunks_is_refused(tmp_path):
    """Bug caught: the check only one way round (a tiny preset continuing an LTX scene)."""
    path = tmp_path / "p"
    scene = Scene(id="s1", title="fox", event="a fox runs", background="snow", n_chunks=1, seed=3)
    save_project(new_project("p", "tiny-ltx", Script(prompt="a fox", scenes=[scene])), path)
    list(generate_scene(path, load_preset("tiny-ltx"), "s1"))
    assert load_project(path).script.scene("s1").family == "ltx"
    with pytest.raises(StudioError, match="made with LTX-Video chunks and preset 'animatic'"):
        list(generate_scene(path, load_preset("animatic"), "s1", num_chunks=2))
