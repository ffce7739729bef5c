"""The offline presets as a creator meets them: Regenerate on an animatic reference card, and the planners
the Plan tab offers."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from studio.project.model import load_project
from studio.project.paths import ProjectPaths
from studio.ui.state import SessionState
from tests.ui.conftest import fake_request

PROMPT = "A girl walks her dog along the beach."


@pytest.fixture
def animatic(projects_root):
    from studio.config import load_preset
    from studio.ui.handlers import Handlers
    from studio.ui.state import Workspace

    handlers = Handlers(load_preset("animatic"), Workspace(projects_root))
    request = fake_request("alice")
    project_id, *_ = handlers.plan(PROMPT, "rules", 0, SessionState(), request)
    handlers.references(project_id, "", None, True, SessionState(), request)  # every reference made and approved
    return handlers, request, project_id, handlers.workspace.locate("alice", project_id)


def test_regenerating_an_approved_card_draws_another_take_and_says_it_is_pending(animatic):
    """Catches Regenerate on the animatic only shifting the card's hue, and an approved card going back to
    pending without a word."""
    handlers, request, project_id, project_dir = animatic
    dog = next(e for e in load_project(project_dir).script.entities if e.name == "dog")
    assert dog.status == "approved"
    before = np.asarray(Image.open(ProjectPaths(project_dir).entity_image(dog.id)).convert("RGB")).astype(float)
    cards, _, message = handlers.references(project_id, dog.id, dog.seed + 1, False, SessionState(), request)
    after_entity = next(e for e in load_project(project_dir).script.entities if e.id == dog.id)
    after = np.asarray(Image.open(ProjectPaths(project_dir).entity_image(dog.id)).convert("RGB")).astype(float)
    assert np.abs(before - after).mean() > 8  # another pose, palette and paper, not a hue nudge
    assert after_entity.status == "pending" and next(c for c in cards if c["id"] == dog.id)["status"] == "pending"
    assert "was approved" in message and "pending until you approve it" in message and "dog" in message


def test_regenerating_a_pending_card_says_what_to_do(animatic):
    handlers, request, project_id, project_dir = animatic
    girl = next(e for e in load_project(project_dir).script.entities if e.name == "girl")
    handlers.set_entity_status(project_id, girl.id, "pending", request)
    message = handlers.references(project_id, girl.id, 77, False, SessionState(), request)[2]
    assert message == "New take of girl (seed 77); approve it, or regenerate again."


def test_the_plan_tab_offers_only_planners_that_give_a_usable_plan(tiny_preset, tmp_path):
    """Catches the tiny preset offering 'local: a small LLM', whose random weights write gibberish titles."""
    from studio.ui import build_app

    demo = build_app(tiny_preset, projects_root=tmp_path / "projects")
    planner = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "planner")
    assert [value for _, value in planner.choices] == ["rules"]
    assert "random weights" in planner.info and "gibberish" in planner.info
