"""A rejected reference is left out of its scenes: the scene image, the chunks made from it, and the video.

On the animatic preset, which draws every cast member it is given (a reference card or a text card):
rejecting one outdates the images of its scenes, and the remade image is the scene without it.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from studio.project.model import load_project, save_project

PROMPT = "A red fox explores a snowy forest at dawn. An old owl watches the fox from a pine tree."


@pytest.fixture(scope="module")
def animatic():
    from studio.config import load_preset

    return load_preset("animatic")


def pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def test_a_rejected_reference_is_not_drawn_in_its_scenes(tmp_path, animatic):
    """Bug caught: a rejected reference stayed in the scene images, the drafts made from them and the final
    video (rejecting it outdated nothing, and the animatic drew every entity of the scene)."""
    from studio.export.stage import export_project
    from studio.generate.stage import generate_scene
    from studio.plan.stage import plan_project
    from studio.project.paths import ProjectPaths
    from studio.project.staleness import scenes_needing_images
    from studio.references.stage import make_references, set_entity_status

    project_dir = tmp_path / "fox"
    plan_project(project_dir, PROMPT, animatic, num_scenes=1)
    make_references(project_dir, animatic)  # pending: the animatic draws a text card for each
    project = load_project(project_dir)
    scene = project.script.scenes[0]
    cast = [e for e in project.script.entities if e.id in scene.entity_ids and e.kind != "background"]
    assert len(cast) >= 2, cast
    rejected = cast[0]
    list(generate_scene(project_dir, animatic, scene.id))
    image = ProjectPaths(project_dir).scene_image(scene.id)
    drawn_with_it = pixels(image)

    set_entity_status(project_dir, rejected.id, "rejected")
    assert scenes_needing_images(load_project(project_dir), project_dir) == [scene.id]  # outdated at once
    make_references(project_dir, animatic, scenes_only=True)
    after = load_project(project_dir).script.scene(scene.id)
    assert [c.status for c in after.chunks] == ["stale"] * len(after.chunks)  # made from the old image

    # The remade image is the scene as if the rejected entity were not in it.
    without = tmp_path / "without"
    plan_project(without, PROMPT, animatic, num_scenes=1)
    other = load_project(without)
    other.script.scenes[0].entity_ids = [i for i in other.script.scenes[0].entity_ids if i != rejected.id]
    save_project(other, without)
    make_references(without, animatic)
    expected = pixels(ProjectPaths(without).scene_image(other.script.scenes[0].id))
    remade = pixels(image)
    assert np.array_equal(remade, expected) and not np.array_equal(remade, drawn_with_it)

    # Generated again and exported, the video is made from that image; nothing stale is left to warn about.
    list(generate_scene(project_dir, animatic, scene.id))
    assert not [w for w in export_project(project_dir, animatic).warnings if "stale" in w]


def test_the_cli_export_names_an_unmade_scene_and_a_rejected_chunk(tmp_path, animatic, capsys):
    """Bug caught: `export` left out a scene with no chunk (a log line only) and exported a rejected chunk
    without a remark."""
    from studio.cli import main
    from studio.generate.stage import generate_scene
    from studio.plan.stage import plan_project
    from studio.project.approval import set_approval

    project_dir = tmp_path / "fox"
    plan_project(project_dir, PROMPT, animatic, num_scenes=2)
    first, second = (s.id for s in load_project(project_dir).script.scenes)
    list(generate_scene(project_dir, animatic, first))
    set_approval(project_dir, first, 0, "rejected")
    capsys.readouterr()
    assert main(["export", str(project_dir), "--preset", "animatic"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert f"warning: scene {second} is left out: it has no finished chunk yet; generate it to include it" in err
    assert (f"warning: scene {first}: chunk 0 is rejected but in the video; regenerate or use another take, "
            "then export again") in err
