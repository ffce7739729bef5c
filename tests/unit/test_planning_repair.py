"""Validation and repair of loose planner output, and the schema itself."""

from __future__ import annotations

import json
import logging

import pytest

from studio.errors import ValidationError
from studio.plan.repair import chunks_for_seconds, fit_scene_count, map_camera, parse_json_text, repair_script
from studio.plan.schema import SCRIPT_JSON_SCHEMA, compact_script_schema, schema_errors, script_schema
from studio.project.model import CAMERA_MOVES, Scene


@pytest.mark.parametrize("raw, move", [
    ("static", "static"), ("Pan Left", "pan left"), ("slow pan to the right", "pan right"), ("PAN_LEFT", "pan left"),
    ("zoom-in", "zoom in"), ("close-up", "zoom in"), ("push in", "dolly in"), ("pull back", "dolly out"),
    ("circling", "orbit"), ("follow shot", "tracking"), ("handheld", "tracking"), ("locked off", "static"),
    ("camera tilts down", "tilt down"), ("dolly out", "dolly out"),
])
def test_camera_synonyms_map_onto_the_vocabulary(raw, move):
    assert map_camera(raw) == move
    assert move in CAMERA_MOVES


@pytest.mark.parametrize("raw", ["", "banana", None, 3])
def test_unknown_camera_is_none(raw):
    assert map_camera(raw) is None


def test_repair_fixes_names_duplicates_unknown_ids_and_empty_fields(tiny_preset, caplog):
    data = {
        "characters": [
            {"name": "Red Fox", "description": "a fox with a red coat"},
            {"id": "red-fox", "name": "red fox", "description": "a small fox with a bright red coat"},  # duplicate
            {"name": "Old, Owl"},  # a comma cannot be in a name (the table lists names comma-separated)
            {"name": "lonely rock"},  # in no scene: dropped
        ],
        "scenes": [
            {"description": "The fox runs", "entities": ["Red Fox", "wolf"], "setting": "a forest",
             "camera_movement": "Slow pan to the left", "duration": 4},
            {"event": "", "characters": [{"name": "old owl"}], "camera": "sideways"},
            "The owl watches the red fox",
        ],
    }
    with caplog.at_level(logging.WARNING):
        script = repair_script(data, "A fox runs. An owl hoots. The owl watches.", tiny_preset)
    assert [e.id for e in script.entities] == ["red-fox", "old-owl"]
    assert script.entity("red-fox").description == "a small fox with a bright red coat"
    assert script.entity("old-owl").name == "Old Owl" and script.entity("old-owl").description == "Old Owl"
    first, second, third = script.scenes
    assert first.entity_ids == ["red-fox"] and first.camera == "pan left" and first.background == "a forest"
    assert first.n_chunks == chunks_for_seconds(4, tiny_preset) == 3
    assert second.event == "An owl hoots." and second.camera == "static" and second.background == "a forest"
    assert third.event == "The owl watches the red fox" and third.entity_ids == ["red-fox"]  # named in the event
    assert "'wolf'" in caplog.text and "lonely-rock" in caplog.text
    assert [s.id for s in script.scenes] == ["scene-1", "scene-2", "scene-3"]


@pytest.mark.parametrize("data, message", [
    ("nope", "must be a JSON object"), ({"entities": []}, "no scenes"), ({"scenes": []}, "no scenes"),
    ({"scenes": [1, 2]}, "no scenes"),
])
def test_nothing_usable_is_a_validation_error(data, message, tiny_preset):
    with pytest.raises(ValidationError, match=message):
        repair_script(data, "A fox runs.", tiny_preset)


@pytest.mark.parametrize("text, value", [
    ('{"a": 1}', {"a": 1}), ('Sure! ```json\n{"a": 1}\n``` Enjoy.', {"a": 1}), ('Here: {"a": [1]} done', {"a": [1]}),
])
def test_parse_json_text_finds_the_json(text, value):
    assert parse_json_text(text) == value


@pytest.mark.parametrize("text, message", [("", "returned nothing"), ("no json here", "not JSON"), ('{"a": }', "not valid JSON")])
def test_parse_json_text_errors(text, message):
    with pytest.raises(ValidationError, match=message):
        parse_json_text(text)


def test_fit_scene_count_merges_evenly_and_splits_the_longest():
    scenes = [Scene(id=f"s{i}", title=f"t{i}", event=f"E{i}", entity_ids=[f"e{i}"], n_chunks=i + 1, seed=-1) for i in range(5)]
    merged = fit_scene_count(scenes, 2)
    assert [s.event for s in merged] == ["E0, then e1, then e2", "E3, then e4"]
    assert merged[0].entity_ids == ["e0", "e1", "e2"] and merged[0].n_chunks == 6
    split = fit_scene_count(scenes[:2], 4)
    assert [s.n_chunks for s in split] == [1, 1, 1, 1] and len(split) == 4


def test_schema_is_valid_and_matches_repaired_scripts(tiny_preset):
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(SCRIPT_JSON_SCHEMA)
    assert SCRIPT_JSON_SCHEMA["properties"]["scenes"]["items"]["properties"]["camera"]["enum"] == list(CAMERA_MOVES)
    script = repair_script({"entities": [{"id": "fox", "name": "fox", "description": "a fox"}],
                            "scenes": [{"event": "The fox runs", "entity_ids": ["fox"], "camera": "orbit"}]},
                           "A fox runs.", tiny_preset)
    planner_view = {
        "entities": [{"id": e.id, "name": e.name, "description": e.description, "kind": e.kind} for e in script.entities],
        "scenes": [{"title": s.title, "event": s.event, "entity_ids": s.entity_ids, "background": s.background,
                    "camera": s.camera, "n_chunks": s.n_chunks, "seed": s.seed} for s in script.scenes],
    }
    assert schema_errors(planner_view) == []
    bad = json.loads(json.dumps(planner_view))
    bad["scenes"][0]["camera"] = "sideways"
    assert schema_errors(bad)[0].startswith("scenes[0].camera:")
    assert schema_errors(planner_view, script_schema(num_scenes=2))[0].startswith("scenes:")


@pytest.mark.parametrize("budget, num_scenes", [(256, None), (256, 2), (300, 3), (1024, 4)])
def test_compact_schema_answers_fit_the_token_budget(budget, num_scenes):
    """The longest answer the compact schema allows, at 4 bytes per character, fits the budget."""
    schema = compact_script_schema(budget, num_scenes)
    props = schema["properties"]
    chars = props["entities"]["items"]["properties"]["name"]["maxLength"]
    n_scenes, n_entities = props["scenes"]["maxItems"], props["entities"]["maxItems"]
    assert n_scenes <= (num_scenes or 1) and chars >= 1
    longest = "\u4e00" * chars  # a 3-byte character; 4-byte ones count the same in the bound below
    entity_id = "a" * chars
    answer = {"entities": [{"id": entity_id, "name": longest, "description": longest}] * n_entities,
              "scenes": [{"title": longest, "event": longest, "entity_ids": [entity_id] * n_entities,
                          "background": longest, "camera": "tilt down", "n_chunks": 64}] * n_scenes}
    assert schema_errors(answer, schema) == []
    text = json.dumps(answer, separators=(",", ":"), ensure_ascii=False)
    worst_bytes = len(text.encode()) + text.count("\u4e00")  # as if every character took 4 bytes
    assert worst_bytes <= budget
