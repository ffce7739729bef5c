"""Script <-> table rows: hypothesis round trips, gradio-shaped cells, errors naming row and column."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.errors import ValidationError
from studio.plan.tables import ENTITY_COLUMNS, SCENE_COLUMNS, rows_to_script, script_to_rows
from studio.project.model import CAMERA_MOVES, MAX_SCENES, Chunk, Entity, Scene, Script

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCXYZ0123456789'-éü", min_size=1, max_size=8)
TEXT = st.lists(WORD, min_size=1, max_size=6).map(" ".join)
OPTIONAL_TEXT = st.one_of(st.just(""), TEXT)


@st.composite
def scripts(draw) -> Script:
    names = draw(st.lists(TEXT, max_size=5, unique_by=str.lower))
    entities = [Entity(id=f"entity-{i}", name=name, description=draw(OPTIONAL_TEXT),
                       kind=draw(st.sampled_from(["character", "object", "background"])), seed=draw(st.integers(0, 99)))
                for i, name in enumerate(names)]
    scenes = []
    for i in range(draw(st.integers(1, 6))):
        ids = draw(st.lists(st.sampled_from([e.id for e in entities]), unique=True)) if entities else []
        scenes.append(Scene(id=f"scene-{i + 1}", title=draw(OPTIONAL_TEXT), event=draw(TEXT), entity_ids=ids,
                            background=draw(OPTIONAL_TEXT), camera=draw(st.sampled_from(list(CAMERA_MOVES))),
                            n_chunks=draw(st.integers(1, 64)), chunk_prompts=draw(st.lists(TEXT, max_size=3)),
                            seed=draw(st.integers(0, 2**31 - 1))))
    return Script(prompt=draw(TEXT), scenes=scenes, entities=entities)


def gradio_cell(value):
    """What a gradio Dataframe may hand back for a cell: floats for numbers, None for empty text."""
    if isinstance(value, int):
        return float(value)
    if value == "":
        return None
    return value


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scripts())
def test_round_trip_keeps_the_script(script):
    scene_rows, entity_rows = script_to_rows(script)
    assert all(len(row) == len(SCENE_COLUMNS) for row in scene_rows)
    assert all(len(row) == len(ENTITY_COLUMNS) for row in entity_rows)
    assert rows_to_script(script.prompt, scene_rows, entity_rows, previous=script) == script
    gradio_scenes = [[gradio_cell(c) for c in row] for row in scene_rows] + [[None] * len(SCENE_COLUMNS)]
    gradio_entities = [[gradio_cell(c) for c in row] for row in entity_rows] + [[""] * len(ENTITY_COLUMNS)]
    assert rows_to_script(script.prompt, gradio_scenes, gradio_entities, previous=script) == script


@settings(max_examples=40, deadline=None)
@given(scripts())
def test_rows_are_a_fixed_point(script):
    rows = script_to_rows(script)
    again = rows_to_script(script.prompt, *rows)  # no previous: new seeds, but the same table
    assert script_to_rows(again) == rows


def _example() -> Script:
    return Script(
        prompt="A fox and an owl.",
        entities=[Entity(id="fox", name="Red Fox", description="a red fox", status="approved", ref_prompt="a red fox, photo", seed=7),
                  Entity(id="owl", name="owl", description="an owl", status="approved", seed=8)],
        scenes=[Scene(id="scene-1", title="Run", event="The fox runs", entity_ids=["fox"], camera="tracking", n_chunks=2,
                      seed=11, chunks=[Chunk(index=0, seed=1, prompt="p", take=2)]),
                Scene(id="scene-2", title="Hoot", event="The owl hoots", entity_ids=["owl", "fox"], n_chunks=3, seed=12,
                      chunks=[Chunk(index=0, seed=2, prompt="q")])],
    )


def test_edits_keep_hidden_work_and_mark_changed_content():
    script = _example()
    scene_rows, entity_rows = script_to_rows(script)
    assert scene_rows[1][3] == "owl, Red Fox"  # names, not ids
    scene_rows[1][2] = "The owl flies away"  # the event changed: its chunks are stale
    scene_rows[0][1] = "Run!"  # only the title changed: its chunks stay ready
    entity_rows[1][2] = "a snowy owl"  # a new look needs a new reference
    scene_rows.append(["", "", "A new scene", "owl", "a barn", "Pan to the left", "5.0", "a | b"])
    edited = rows_to_script(script.prompt, scene_rows, entity_rows, previous=script)
    assert edited.scenes[0].title == "Run!" and edited.scenes[0].chunks[0].status == "ready"
    assert edited.scenes[0].chunks[0].take == 2 and edited.scenes[0].seed == 11
    assert edited.scenes[1].chunks[0].status == "stale"
    assert edited.entity("fox").status == "approved" and edited.entity("fox").ref_prompt == "a red fox, photo"
    assert edited.entity("owl").status == "pending" and edited.entity("owl").seed == 8
    new = edited.scenes[2]
    assert (new.id, new.camera, new.n_chunks, new.chunk_prompts, new.entity_ids) == ("scene-3", "pan left", 5, ["a", "b"], ["owl"])
    assert new.seed == rows_to_script(script.prompt, scene_rows, entity_rows, previous=script).scenes[2].seed


@pytest.mark.parametrize("column, value, message", [
    ("chunks", "abc", "scenes row 2, column 'chunks': 'abc' is not a whole number between 1 and 64"),
    ("chunks", 4.5, "scenes row 2, column 'chunks': '4.5' is not a whole number between 1 and 64"),
    ("chunks", 65, "scenes row 2, column 'chunks': '65' is not a whole number"),
    ("chunks", 0.0, "scenes row 2, column 'chunks': '0.0' is not"),
    ("camera", "sideways", "scenes row 2, column 'camera': 'sideways' is not a camera move"),
    ("entities", "owl, Wolf", "scenes row 2, column 'entities': 'Wolf' is not in the entities table"),
    ("event", "  ", "scenes row 2, column 'event': is empty"),
    ("id", "../x", "scenes row 2, column 'id': '../x' is not a valid id"),
    ("id", "scene-1", "scenes row 2, column 'id': 'scene-1' is used by another scene"),
    ("event", "x" * 301, "scenes row 2, column 'event': 301 characters"),
])
def test_scene_errors_name_row_and_column(column, value, message):
    scene_rows, entity_rows = script_to_rows(_example())
    scene_rows[1][SCENE_COLUMNS.index(column)] = value
    with pytest.raises(ValidationError) as info:
        rows_to_script("p", scene_rows, entity_rows)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize("column, value, message", [
    ("name", "", "entities row 2, column 'name': is empty"),
    ("name", "red fox", "entities row 2, column 'name': 'red fox' is also the name in row 1"),
    ("name", "owl, jr", "entities row 2, column 'name': 'owl, jr' has a comma"),
    ("id", "fox", "entities row 2, column 'id': 'fox' is used by another entity"),
    ("kind", "ghost", "entities row 2, column 'kind': 'ghost' is not one of"),
])
def test_entity_errors_name_row_and_column(column, value, message):
    scene_rows, entity_rows = script_to_rows(_example())
    entity_rows[1][ENTITY_COLUMNS.index(column)] = value
    with pytest.raises(ValidationError) as info:
        rows_to_script("p", scene_rows, entity_rows)
    assert str(info.value).startswith(message)


def test_blank_ids_and_chunks_get_defaults_and_scenes_are_bounded():
    scene_rows = [[None, None, "A fox runs", "fox", None, None, None, None]]
    script = rows_to_script("p", scene_rows, [[None, "fox", None, None]])
    assert (script.scenes[0].id, script.scenes[0].camera, script.scenes[0].n_chunks) == ("scene-1", "static", 4)
    assert script.entities[0].id == "fox" and script.entities[0].kind == "character"
    too_many = [["", "", f"event {i}", "", "", "static", 1, ""] for i in range(MAX_SCENES + 1)]
    with pytest.raises(ValidationError, match=f"scenes row {MAX_SCENES + 1}: a script has at most {MAX_SCENES} scenes"):
        rows_to_script("p", too_many, [])


def test_unchanged_round_trip_of_example_is_identity():
    script = _example()
    assert rows_to_script(script.prompt, *script_to_rows(script), previous=script) == dataclasses.replace(script)


@pytest.mark.parametrize("table, number, cut, message", [
    ("scenes", 2, 3, "scenes row 2 has 3 of 8 cells (missing 'entities', 'background', 'camera', 'chunks', 'chunk prompts')"),
    ("scenes", 1, 7, "scenes row 1 has 7 of 8 cells (missing 'chunk prompts')"),
    ("entities", 1, 2, "entities row 1 has 2 of 4 cells (missing 'description', 'kind')"),
])
def test_short_rows_are_refused_naming_the_row(table, number, cut, message):
    """A row with fewer cells than columns is refused, never padded with blanks that clear saved cells."""
    script = _example()
    scene_rows, entity_rows = script_to_rows(script)
    rows = scene_rows if table == "scenes" else entity_rows
    rows[number - 1] = rows[number - 1][:cut]
    with pytest.raises(ValidationError) as info:
        rows_to_script(script.prompt, scene_rows, entity_rows, previous=script)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)
