"""Staleness follows the data: an edit or a new chunk outdates what was made from the old one, export names it.

All on the animatic preset (milliseconds per chunk): plan, references, generate, refine, then change
something and check what the project, export and generation say about it.
"""

from __future__ import annotations

import pytest

from studio.project.model import load_project

PROMPT = "A red fox explores a snowy forest at dawn. An old owl watches the fox from a pine tree."


@pytest.fixture(scope="module")
def animatic():
    from studio.config import load_preset

    return load_preset("animatic")


@pytest.fixture
def made(tmp_path, animatic):
    """A project whose first scene is generated (2 chunks) and refined; its references approved."""
    from studio.generate.stage import generate_scene
    from studio.plan.stage import plan_project
    from studio.references.stage import make_references
    from studio.refine.stage import refine_scene

    project_dir = tmp_path / "fox"
    plan_project(project_dir, PROMPT, animatic, num_scenes=2)
    make_references(project_dir, animatic, approve=True)
    scene_id = load_project(project_dir).script.scenes[0].id
    list(generate_scene(project_dir, animatic, scene_id, num_chunks=2))
    refine_scene(project_dir, animatic, scene_id)
    return project_dir, scene_id


def _edit_camera(project_dir, scene_id: str, camera: str) -> None:
    from studio.plan.tables import SCENE_COLUMNS, rows_to_script, script_to_rows
    from studio.project.model import save_project

    project = load_project(project_dir)
    scene_rows, entity_rows = script_to_rows(project.script)
    row = next(r for r in scene_rows if r[0] == scene_id)
    row[SCENE_COLUMNS.index("camera")] = camera
    project.script = rows_to_script(project.script.prompt, scene_rows, entity_rows, previous=project.script)
    save_project(project, project_dir)


def test_an_up_to_date_scene_exports_its_refined_video_without_warnings(made, animatic):
    from studio.export.stage import export_project, scene_source

    project_dir, scene_id = made
    scene = load_project(project_dir).script.scene(scene_id)
    assert scene_source(project_dir, scene).kind == "refined"
    assert not [w for w in export_project(project_dir, animatic).warnings if scene_id in w]


def test_a_camera_edit_makes_chunks_stale_and_the_refined_video_outdated(made, animatic):
    from studio.export.stage import export_project, scene_source

    project_dir, scene_id = made
    _edit_camera(project_dir, scene_id, "zoom in")
    scene = load_project(project_dir).script.scene(scene_id)
    assert [c.status for c in scene.chunks] == ["stale", "stale"] and scene.refined_outdated
    assert scene_source(project_dir, scene).kind != "refined"  # never the refined video made before the edit
    warnings = export_project(project_dir, animatic).warnings
    assert any(f"scene {scene_id}: chunks 0, 1 are stale" in w for w in warnings), warnings
    assert any(f"scene {scene_id}: its refined video is older" in w for w in warnings), warnings


def test_a_title_edit_outdates_nothing(made):
    from studio.plan.tables import SCENE_COLUMNS, rows_to_script, script_to_rows

    project_dir, scene_id = made
    project = load_project(project_dir)
    scene_rows, entity_rows = script_to_rows(project.script)
    scene_rows[0][SCENE_COLUMNS.index("title")] = "A new title"
    script = rows_to_script(project.script.prompt, scene_rows, entity_rows, previous=project.script)
    assert [c.status for c in script.scene(scene_id).chunks] == ["ready", "ready"]
    assert not script.scene(scene_id).refined_outdated


def test_a_regenerated_chunk_outdates_the_refined_video_until_it_is_refined_again(made, animatic):
    from studio.export.stage import scene_source
    from studio.generate.stage import regenerate_chunk
    from studio.refine.stage import refine_scene

    project_dir, scene_id = made
    regenerate_chunk(project_dir, animatic, scene_id, 1, prompt="the fox stops and looks up")
    scene = load_project(project_dir).script.scene(scene_id)
    assert scene.refined_outdated and scene_source(project_dir, scene).kind == "draft"
    refine_scene(project_dir, animatic, scene_id)
    scene = load_project(project_dir).script.scene(scene_id)
    assert not scene.refined_outdated and scene_source(project_dir, scene).kind == "refined"


def test_approving_a_reference_outdates_its_scene_images_and_one_call_remakes_only_them(made, animatic):
    from studio.project.staleness import anchor_note, scenes_needing_images, stale_findings
    from studio.references.stage import make_references, set_entity_status

    project_dir, scene_id = made
    project = load_project(project_dir)
    scene = project.script.scene(scene_id)
    entity_id = scene.entity_ids[0]
    entity_image = (project_dir / f"entities/{entity_id}.png").read_bytes()
    set_entity_status(project_dir, entity_id, "rejected")
    project = load_project(project_dir)
    users = [s.id for s in project.script.scenes if entity_id in s.entity_ids]
    assert scenes_needing_images(project, project_dir) == users
    assert "frame 0 of chunk 0" in anchor_note(project, project_dir, project.script.scene(scene_id))
    assert any("scene image is outdated" in line for line in stale_findings(project, project_dir))

    make_references(project_dir, animatic, scenes_only=True)
    project = load_project(project_dir)
    assert scenes_needing_images(project, project_dir) == []
    assert (project_dir / f"entities/{entity_id}.png").read_bytes() == entity_image  # refs untouched
    remade = project.script.scene(scene_id)
    assert anchor_note(project, project_dir, remade) == "anchor: its scene image"
    # The chunks were made from the old image: they are stale now, and so is the refined video.
    assert [c.status for c in remade.chunks] == ["stale", "stale"] and remade.refined_outdated


def test_refined_outdated_is_read_back_and_checked(tmp_path):
    from studio.errors import ValidationError
    from studio.project.model import scene_from_dict

    assert scene_from_dict({"id": "s1", "event": "e", "refined_outdated": True}).refined_outdated
    assert not scene_from_dict({"id": "s1", "event": "e"}).refined_outdated  # older projects
    with pytest.raises(ValidationError, match="refined_outdated"):
        scene_from_dict({"id": "s1", "event": "e", "refined_outdated": "yes"})
