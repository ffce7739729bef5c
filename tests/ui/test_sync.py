"""Every tab follows the project: after an edit or an approval the redraw shows the project as it is on disk."""

from __future__ import annotations

import pytest

from studio.project.model import load_project
from studio.ui.state import SessionState
from tests.ui.conftest import fake_request

PROMPT = "A red fox explores a snowy forest at dawn. An old owl watches the fox from a pine tree."


@pytest.fixture
def studio(projects_root):
    """Handlers and the tab renderer on the animatic preset, with one planned project (2 scenes)."""
    from studio.config import load_preset
    from studio.ui.handlers import Handlers
    from studio.ui.state import Workspace
    from studio.ui.sync import TabRenderer

    handlers = Handlers(load_preset("animatic"), Workspace(projects_root))
    request = fake_request("alice")
    project_id, scene_rows, entity_rows, _ = handlers.plan(PROMPT, "rules", 2, SessionState(), request)
    return handlers, TabRenderer(handlers), request, project_id, scene_rows, entity_rows


def _rows_on_disk(handlers, project_id: str):
    from studio.plan.tables import script_to_rows

    return script_to_rows(load_project(handlers.workspace.locate("alice", project_id)).script)


def _choices(update) -> list[str]:
    return [choice[1] for choice in update["choices"]]


def test_after_an_edit_every_tab_shows_the_new_script(studio):
    from studio.plan.tables import SCENE_COLUMNS

    handlers, renderer, request, project_id, scene_rows, entity_rows = studio
    kept_entity, dropped_entity = entity_rows[0][0], entity_rows[1][0]
    scene_rows[1][SCENE_COLUMNS.index("title")] = "The owl keeps watch"
    scene_rows[1][SCENE_COLUMNS.index("entities")] = kept_entity
    scene_rows[0][SCENE_COLUMNS.index("entities")] = kept_entity
    scene_rows.append(["", "A third scene", "the fox sleeps", kept_entity, "", "static", "2", ""])
    handlers.apply_script(project_id, PROMPT, scene_rows, [entity_rows[0]], request)

    summary, cards, _, _, ref_entity, gen_scene, refine_scene, _ = renderer.tabs(
        project_id, dropped_entity, "scene-2", "scene-1", request)
    assert "3 scenes" in summary
    assert [card["id"] for card in cards] == [kept_entity]
    assert dropped_entity not in _choices(ref_entity) and ref_entity["value"] == ""  # a removed entity is not kept
    assert len(_choices(gen_scene)) == 3 and "2. The owl keeps watch" in [c[0] for c in gen_scene["choices"]]
    assert gen_scene["value"] == "scene-2" and refine_scene["value"] == "scene-1"  # the selection survives


def test_the_timeline_shows_chunks_an_edit_made_stale(studio):
    from studio.plan.tables import SCENE_COLUMNS

    handlers, renderer, request, project_id, scene_rows, entity_rows = studio
    list(handlers.generate(project_id, "scene-1", 2, SessionState(), request))
    assert renderer.generate_view(project_id, "scene-1", request)[0].count("chunk-ready") == 2
    scene_rows, entity_rows = _rows_on_disk(handlers, project_id)
    scene_rows[0][SCENE_COLUMNS.index("camera")] = "zoom in"
    handlers.check_script(project_id, PROMPT, scene_rows, entity_rows, request)
    timeline, rows, _ = renderer.generate_view(project_id, "scene-1", request)
    assert timeline.count("chunk-stale") == 2 and [row[1] for row in rows][:2] == ["stale", "stale"]  # the 2 made (Chunks 2 was a one-off)
    assert "2 chunks stale" in renderer.tabs(project_id, "", "scene-1", "scene-1", request)[0]


def test_approving_on_the_animatic_remakes_the_scene_images_at_once(studio):
    handlers, renderer, request, project_id, *_ = studio
    handlers.references(project_id, "", -1, False, SessionState(), request)
    project_dir = handlers.workspace.locate("alice", project_id)
    entity_id = load_project(project_dir).script.entities[0].id
    image = lambda scene: project_dir / "scenes" / scene.id / "image.png"  # noqa: E731
    before = {s.id: image(s).read_bytes() for s in load_project(project_dir).script.scenes}
    cards = handlers.set_entity_status(project_id, entity_id, "approved", request)
    assert next(c for c in cards if c["id"] == entity_id)["status"] == "approved"
    project = load_project(project_dir)
    users = [s for s in project.script.scenes if entity_id in s.entity_ids]
    assert users and all(image(s).is_file() for s in users)
    assert all(image(s).read_bytes() != before[s.id] for s in users)  # made with the reference
    _, _, gallery, note, *_ = renderer.tabs(project_id, "", "", "", request)
    assert len(gallery) == len(project.script.scenes) and note == ""


def test_export_after_an_edit_warns_and_names_the_stale_scene(studio):
    from studio.plan.tables import SCENE_COLUMNS

    handlers, _, request, project_id, scene_rows, entity_rows = studio
    list(handlers.generate(project_id, "", 2, SessionState(), request))
    scene_rows, entity_rows = _rows_on_disk(handlers, project_id)
    scene_rows[1][SCENE_COLUMNS.index("event")] = "the owl flies away over the lake"
    handlers.check_script(project_id, PROMPT, scene_rows, entity_rows, request)
    message = handlers.export(project_id, False, request)[3]
    assert message.startswith("⚠ Exported, but:") and "scene scene-2: chunks 0, 1 are stale" in message
    assert "scene scene-1: chunks" not in message  # the unchanged scene is not stale (only unfinished: Chunks 2 was a one-off)


def test_a_planner_the_preset_cannot_run_is_refused_in_the_browsers_words(studio):
    handlers, _, request, *_ = studio
    assert "pick the rules planner" in handlers.plan(PROMPT, "local", 2, SessionState(), request)[-1]


def test_without_a_project_the_redraw_leaves_the_page_alone(studio):
    _, renderer, request, *_ = studio
    assert all(value is not None and not isinstance(value, str) for value in renderer.tabs("", "", "", "", request))
    assert renderer.generate_view("", "", request) == renderer.generate_view("no-such", "", request)


def test_the_metrics_are_a_table_and_a_plot_drawn_from_the_last_export(studio):
    handlers, renderer, request, project_id, *_ = studio
    list(handlers.generate(project_id, "scene-1", 3, SessionState(), request))
    assert renderer.metrics(project_id, request)[0]["visible"] is False  # nothing measured yet
    message = handlers.export(project_id, True, request)[3]
    assert "```" not in message  # no wall of monospace text
    assert "SCuts" in message and "seam score" in message  # an API client, who sees no table, reads them here
    table, motion, consistency = renderer.metrics(project_id, request)
    rows = {row[0]: row for row in table["value"]}
    assert {"SCuts", "MAWE", "seam score", "CLIP score"} <= set(rows) and table["visible"]
    assert rows["frames"][1].startswith("32 at")  # 16 + 8 + 8 frames
    # One plot per score: different units, each on its own axis.
    assert list(motion["value"].columns) == ["chunk", "motion (px/frame)"] and motion["visible"]
    assert list(consistency["value"].columns) == ["chunk", "consistency (dB)"] and consistency["visible"]
    handlers.export(project_id, False, request)  # an export without metrics drops the older table
    assert renderer.metrics(project_id, request)[0]["visible"] is False


def test_a_regeneration_says_which_anchor_holds_the_scene(studio):
    handlers, _, request, project_id, *_ = studio
    list(handlers.generate(project_id, "scene-1", 2, SessionState(), request))
    message = handlers.regenerate_chunk(project_id, "scene-1", 1, 7, "", SessionState(), request)[-1]
    folder = handlers.workspace.locate("alice", project_id)
    expected = ("anchor: its scene image" if (folder / "scenes/scene-1/image.png").is_file()
                else "anchor: frame 0 of chunk 0")
    assert "remade with seed 7" in message and expected in message
