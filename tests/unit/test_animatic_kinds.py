"""The animatic draws an entity as its kind (a dog as a dog, a ship as a boat, the moon as a crescent), from
the planner's kind lexicon, and a regenerated card is visibly another take."""

from __future__ import annotations

import numpy as np
import pytest

from studio.animatic.cards import render_entity_card, shape_kind
from studio.plan.stage import plan_script
from studio.project.model import Entity


@pytest.mark.parametrize("name, description, kind, shape", [
    ("dog", "a dog", "character", "animal"),
    ("dogs", "some dogs", "character", "animal"),
    ("golden retriever", "a golden retriever", "character", "animal"),
    ("Rex", "a brown dog", "character", "animal"),
    ("seagulls", "some seagulls", "character", "bird"),
    ("boy", "a boy with a dog", "character", "person"),
    ("ship", "a ship", "object", "boat"),
    ("hot air balloon", "a hot air balloon", "object", "plane"),
    ("moon", "the moon", "object", "moon"),
    ("sun", "the sun", "object", "sun"),
    ("red planet", "a red planet", "object", "planet"),
])
def test_entities_are_drawn_as_their_kind(name, description, kind, shape):
    """Catches a dog drawn as a human figure (a plural, a breed or a name the old word list missed) and the sun,
    the moon or a planet drawn as a generic box; the head of the name decides ('a boy with a dog' is a person)."""
    assert shape_kind(Entity(id="e", name=name, description=description, kind=kind)) == shape


def test_what_the_planner_plans_is_drawn_as_its_kind(tiny_preset):
    """Catches the planner and the animatic disagreeing: the planned grey dog, ship and moon are drawn as such."""
    script = plan_script("The old man and his grey dog watch a ship sail away. The moon rises over the sea.",
                         tiny_preset, planner="rules")
    shapes = {entity.name: shape_kind(entity) for entity in script.entities}
    assert shapes == {"old man": "person", "grey dog": "animal", "ship": "boat", "moon": "moon"}, shapes


def test_a_regenerated_card_is_visibly_another_take():
    """Catches Regenerate only nudging the hue: a new seed changes the pose, palette and paper of the card,
    while the same seed draws the same card and the name stays legible at the bottom."""
    dog = Entity(id="dog", name="dog", description="a dog", kind="character")
    first = np.asarray(render_entity_card(dog, 96, 128, 11)).astype(float)
    assert np.array_equal(first, np.asarray(render_entity_card(dog, 96, 128, 11)))
    for seed in (12, 13, 14):
        other = np.asarray(render_entity_card(dog, 96, 128, seed)).astype(float)
        assert np.abs(first - other).mean() > 8, seed  # a hue nudge alone differs by about 1
        assert np.mean(other[96:].max(axis=2) < 80) > 0.01  # the name, in dark ink
