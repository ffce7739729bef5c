"""The rules planner over a table of prompts, plus the shared checks every planner goes through."""

from __future__ import annotations

import dataclasses

import pytest

from studio.errors import StudioError
from studio.plan.rules import split_events
from studio.plan.stage import plan_script
from studio.project.model import CAMERA_MOVES, MAX_PROMPT_CHARS, script_from_dict


def _plan(prompt, preset, **kwargs):
    return plan_script(prompt, preset, planner="rules", **kwargs)


@pytest.mark.parametrize("prompt, events", [
    ("A fox runs. It sleeps.", ["A fox runs", "It sleeps"]),
    ("A fox runs; a hare hides", ["A fox runs", "A hare hides"]),
    ("A fox wakes, then it hunts, later it eats and finally it sleeps",
     ["A fox wakes", "It hunts", "It eats", "It sleeps"]),
    ("The knight draws his sword, and the dragon breathes fire", ["The knight draws his sword", "The dragon breathes fire"]),
    ("A bowl of apples, pears, and plums", ["A bowl of apples, pears, and plums"]),
    ("Then the sun rises!", ["The sun rises"]),
])
def test_events_split_at_sentences_connectives_and_clauses(prompt, events):
    assert split_events(prompt) == events


def test_multi_event_prompt_gives_one_scene_per_event_with_sequential_ids(tiny_preset):
    script = _plan("A red fox wakes up in a snowy forest. It chases a rabbit across a frozen lake. "
                   "Finally the fox sleeps in its den as night falls.", tiny_preset)
    assert [s.id for s in script.scenes] == ["scene-1", "scene-2", "scene-3"]
    assert script.scenes[1].event.startswith("The red fox chases")  # the pronoun is resolved in the text
    # 'fox' recurs (directly, through 'It', and as 'the fox'): one shared entity in all three scenes;
    # the rabbit it chases is an entity of its scene
    assert [e.id for e in script.entities] == ["red-fox", "rabbit"]
    assert [s.entity_ids for s in script.scenes] == [["red-fox"], ["red-fox", "rabbit"], ["red-fox"]]
    assert script.entity("red-fox").description == "a red fox"
    assert [s.background for s in script.scenes] == ["a snowy forest", "a frozen lake", "the den at night"]


@pytest.mark.parametrize("prompt, cameras", [
    ("The camera pans left over the old harbour. A boat sails into the harbour.", ["pan left", "tracking"]),
    ("A close-up of a ticking clock. The clock strikes twelve.", ["zoom in", "static"]),
    ("A tracking shot of a horse galloping across a field. The horse stops, the camera zooms out.", ["tracking", "zoom out"]),
    ("The dancers spin on a stage as the camera orbits around them.", ["orbit"]),
    ("A lighthouse stands on a cliff, the camera tilts up to the sky.", ["tilt up"]),
    ("A car drives down a highway. The driver waves, camera dollies in.", ["tracking", "dolly in"]),
])
def test_camera_words_pick_the_move_else_a_default(prompt, cameras, tiny_preset):
    script = _plan(prompt, tiny_preset)
    assert [s.camera for s in script.scenes] == cameras
    assert all(s.camera in CAMERA_MOVES for s in script.scenes)
    assert all("camera" not in s.entity_ids for s in script.scenes)


def test_backgrounds_carry_over_until_a_scene_names_a_new_place(tiny_preset):
    script = _plan("A girl reads in a quiet library. She falls asleep. She dreams of dragons. "
                   "She wakes up on a sunny beach.", tiny_preset)
    assert [s.background for s in script.scenes] == ["a quiet library"] * 3 + ["a sunny beach"]
    first_unnamed = _plan("A boy laughs. The boy runs into a dark forest.", tiny_preset)
    assert [s.background for s in first_unnamed.scenes] == ["a dark forest", "a dark forest"]


def test_shared_entities_recurring_objects_and_proper_names(tiny_preset):
    script = _plan("Alice finds a golden key in a garden. Bob steals the key. Later Alice meets Bob in Paris.", tiny_preset)
    names = {e.name: e for e in script.entities}
    assert set(names) == {"Alice", "golden key", "Bob"}  # 'Paris' is a place, not a character
    assert names["golden key"].kind == "object" and names["Alice"].kind == "character"
    assert script.scenes[2].entity_ids == ["alice", "bob"]
    assert script.scenes[2].background == "Paris"
    once = _plan("A chef chops an onion. The chef smiles.", tiny_preset)
    assert [s.entity_ids for s in once.scenes] == [["chef", "onion"], ["chef"]]  # the object of the action
    assert once.entity("onion").kind == "object"


@pytest.mark.parametrize("words, expected", [
    ("", 2), (" briefly", 1), (" slowly", 4), (" for 10 seconds", 9), (" for 3 chunks", 3), (" for 2 minutes", 64),
])
def test_length_words_set_the_chunk_count(words, expected, tiny_preset):
    script = _plan(f"A balloon drifts over a town{words}.", tiny_preset)
    assert script.scenes[0].n_chunks == expected
    assert "seconds" not in script.scenes[0].event and "chunks" not in script.scenes[0].event


def test_default_chunks_come_from_the_preset(tiny_preset):
    preset = dataclasses.replace(tiny_preset, planning=dataclasses.replace(tiny_preset.planning, default_chunks=5))
    assert _plan("A kite flies.", preset).scenes[0].n_chunks == 5


def test_deterministic_and_valid(tiny_preset):
    prompt = "A robot walks through a city at night, and a cat follows the robot. The robot stops; the cat sits."
    first, second = _plan(prompt, tiny_preset), _plan(prompt, tiny_preset)
    assert first == second
    assert script_from_dict(dataclasses.asdict(first)) == first
    assert len({s.seed for s in first.scenes}) == len(first.scenes)
    assert [s.seed for s in _plan(prompt + " The end.", tiny_preset).scenes][:3] != [s.seed for s in first.scenes]


@pytest.mark.parametrize("num_scenes", [1, 2, 5])
def test_num_scenes_merges_or_splits(num_scenes, tiny_preset):
    script = _plan("A fox wakes. It hunts. It eats. It sleeps.", tiny_preset, num_scenes=num_scenes)
    assert [s.id for s in script.scenes] == [f"scene-{i + 1}" for i in range(num_scenes)]
    assert all(s.entity_ids == ["fox"] for s in script.scenes)


@pytest.mark.parametrize("prompt, message", [
    ("", "empty"), ("   \n\t", "empty"), ("x" * (MAX_PROMPT_CHARS + 1), "limit is 2,000"),
])
def test_bad_prompts_are_one_line_errors(prompt, message, tiny_preset):
    with pytest.raises(StudioError, match=message) as info:
        _plan(prompt, tiny_preset)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("bad", [0, 25, -1])
def test_bad_scene_counts(bad, tiny_preset):
    with pytest.raises(StudioError, match="between 1 and 24"):
        _plan("A fox runs.", tiny_preset, num_scenes=bad)


def test_unknown_planner(tiny_preset):
    with pytest.raises(StudioError, match="unknown planner 'gpt'"):
        plan_script("A fox runs.", tiny_preset, planner="gpt")


def test_long_prompt_is_bounded(tiny_preset):
    script = _plan(". ".join(f"A bird {i} sings" for i in range(60)), tiny_preset)
    assert len(script.scenes) == 24


def test_a_bare_camera_instruction_directs_the_previous_event(tiny_preset):
    script = _plan("Alice meets Bob in Paris; the camera orbits around them. A close-up of the flag waving.", tiny_preset)
    assert [(s.event, s.camera) for s in script.scenes] == [("Alice meets Bob in Paris", "orbit"), ("The flag waving", "zoom in")]


def test_an_event_without_a_subject_names_the_last_one_in_its_text(tiny_preset):
    """Each event is a video prompt of its own: 'sits on the porch' alone would show nobody sitting."""
    script = _plan("A woman waters the garden, then sits on the porch, and finally falls asleep", tiny_preset)
    assert [s.event for s in script.scenes] == ["A woman waters the garden", "The woman sits on the porch",
                                                "The woman falls asleep"]
