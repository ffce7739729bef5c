"""The rules planner on prompts nobody tuned it on: the table in planner_prompts.yaml, the studio's own
example prompts, and properties over generated prompts (no verb or adverb is ever an entity; every
scene keeps the subject the prompt names)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.plan import lexicon
from studio.plan.stage import plan_script

TABLE = yaml.safe_load((Path(__file__).parent / "planner_prompts.yaml").read_text(encoding="utf-8"))
EXAMPLES = Path(__file__).resolve().parents[2] / "assets" / "examples.txt"


def _plan(prompt, preset):
    return plan_script(prompt, preset, planner="rules")


def _scene_names(script):
    names = {e.id: e.name for e in script.entities}
    return [[names[entity_id] for entity_id in scene.entity_ids] for scene in script.scenes]


def test_the_table_is_large_and_varied():
    assert len(TABLE) >= 60
    assert sum(len(row["scenes"]) >= 3 for row in TABLE) >= 12  # stories
    assert sum(row["prompt"][:1].islower() for row in TABLE) >= 4  # lower-case prompts


def table_shortfalls(row, preset) -> list[str]:
    """What the plan of one table row gets wrong against the row's expectations ([] when it passes)."""
    script = plan_script(row["prompt"], preset, planner="rules", num_scenes=row.get("num_scenes"))
    got = _scene_names(script)
    if len(got) != len(row["scenes"]):
        return [f"{len(got)} scenes, expected {len(row['scenes'])}: {[s.event for s in script.scenes]}"]
    wrong = [f"scene {index + 1} ({script.scenes[index].event!r}) holds {names}, expected {expected}"
             for index, (expected, names) in enumerate(zip(row["scenes"], got)) if not set(expected) <= set(names)]
    by_name = {e.name: e for e in script.entities}
    wrong += [f"{name!r} is {by_name[name].kind if name in by_name else 'missing'}, expected {kind}"
              for name, kind in row.get("kinds", {}).items() if name not in by_name or by_name[name].kind != kind]
    wrong += [f"{name!r} is described {by_name[name].description if name in by_name else 'nowhere'!r}, expected {words!r} in it"
              for name, words in row.get("describe", {}).items()
              if name not in by_name or words not in by_name[name].description]
    wrong += [f"scene {number} is static: {script.scenes[number - 1].event!r}" for number in row.get("moving", [])
              if script.scenes[number - 1].camera == "static"]
    wrong += [f"scene {number}'s background is {script.scenes[number - 1].background!r}, expected {place!r} in it"
              for number, place in row.get("places", {}).items() if place not in script.scenes[number - 1].background]
    names = {e.name.lower() for e in script.entities} | {e.name.lower().split()[-1] for e in script.entities}
    wrong += [f"{word!r} is an entity's name" for word in row.get("absent", []) if word.lower() in names]
    return wrong


@pytest.mark.parametrize("row", TABLE, ids=[row["prompt"][:48] for row in TABLE])
def test_prompt_table(row, tiny_preset):
    assert not table_shortfalls(row, tiny_preset)


def test_pronouns_pick_the_entity_that_fits(tiny_preset):
    witch = _scene_names(_plan(TABLE[-2]["prompt"], tiny_preset))
    assert "merchant" not in witch[1]  # 'drinks it': the potion, not the merchant it came from
    kids = _scene_names(_plan(TABLE[-1]["prompt"], tiny_preset))
    assert kids[2] == ["kids"]  # 'they laugh': the two kids, not the wave


def _bad_entity_words(script):
    """Entity names whose head is an adverb or a verb form that is no noun ('Together', 'Carries', 'Meets')."""
    bad = []
    for entity in script.entities:
        head = entity.name.split()[-1 if " of " not in entity.name else 0].lower()
        if lexicon.is_adverb_only(head) or (lexicon.is_verb_form(head) and lexicon.verb_only(head)):
            bad.append(entity.name)
        if entity.name[:1].isupper() and lexicon.finite_verb(entity.name.split()[0], False) and entity.kind != "object":
            bad.append(entity.name)  # a capitalised verb taken for a name
    return bad


def test_the_built_in_examples_plan_cleanly(tiny_preset):
    prompts = [line for line in EXAMPLES.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    assert len(prompts) == 3
    for prompt in prompts:
        script = _plan(prompt, tiny_preset)
        assert len(script.scenes) == 3, [s.event for s in script.scenes]
        assert not _bad_entity_words(script)
        assert all(scene.background for scene in script.scenes), [s.background for s in script.scenes]
        assert all(scene.entity_ids for scene in script.scenes)
        words = [w.lower() for e in script.entities for w in e.name.split()]
        assert len(words) == len(set(words)) or len(script.entities) > 1  # no 'build build'
        assert all(len(e.name.split()) == len(dict.fromkeys(e.name.lower().split())) for e in script.entities)


def test_camera_and_shot_words_are_never_entities(tiny_preset):
    prompts = ["A drone shot of a lighthouse keeper on a cliff.", "Aerial view of a knight riding across a valley in the fog.",
               "Time-lapse of a flower opening.", "Close-up of a cat sleeping, then a wide shot of the room.",
               "Slow motion shot of a dog jumping into a lake.", "A tracking shot of a runner in a park.",
               "A flythrough of an old library where a girl reads."]
    camera_words = {"drone", "aerial", "view", "time-lapse", "close-up", "shot", "motion", "tracking", "flythrough",
                    "wide", "camera"}
    for prompt in prompts:
        script = _plan(prompt, tiny_preset)
        assert not {w.lower() for e in script.entities for w in e.name.split()} & camera_words, script.entities
        assert script.scenes[0].entity_ids, prompt  # the subject of the shot is still there
    assert _plan(prompts[0], tiny_preset).scenes[0].camera == "tracking"
    assert _plan(prompts[1], tiny_preset).scenes[0].camera == "tilt down"


def test_descriptions_keep_what_the_prompt_says(tiny_preset):
    script = _plan("An elderly painter in a blue coat paints a tiny rusty robot. The robot dances with two kids.",
                   tiny_preset)
    descriptions = {e.name: e.description for e in script.entities}
    assert descriptions["elderly painter"] == "an elderly painter in a blue coat"
    assert descriptions["tiny rusty robot"] == "a tiny rusty robot"
    assert descriptions["kids"] == "two kids"
    assert script.scenes[1].entity_ids == ["tiny-rusty-robot", "kids"]


# ----------------------------------------------------------------------------- properties

SUBJECTS = ["fox", "robot", "woman", "old man", "little girl", "lighthouse keeper", "dragon", "tiny rusty robot",
            "young wizard", "grey cat"]
VERBS = ["explore", "carry", "meet", "buy", "build", "water", "climb", "watch", "find", "paint", "chase", "open"]
OBJECTS = ["a lantern", "the old owl", "a red ball", "a merchant", "the ancient book", "a paper boat", "two apples"]
ADVERBS = ["slowly", "together", "quietly", "carefully", "suddenly", ""]
PLACES = ["in a snowy forest", "on the beach", "in a busy market", "across a frozen lake", ""]
JOINS = [", then ", ", and ", ". Then it ", ", ", " and then "]


def _third_person(verb):
    import lemminflect

    return lemminflect.getInflection(verb, "VBZ")[0]


@st.composite
def stories(draw):
    subject = draw(st.sampled_from(SUBJECTS))
    actions = draw(st.lists(st.tuples(st.sampled_from(VERBS), st.sampled_from(ADVERBS), st.sampled_from(OBJECTS),
                                      st.sampled_from(PLACES)), min_size=1, max_size=4))
    joins = [draw(st.sampled_from(JOINS)) for _ in actions[1:]]
    clauses = [" ".join(w for w in (adverb, _third_person(verb), obj, place) if w) for verb, adverb, obj, place in actions]
    text = f"A {subject} " + clauses[0]
    for join, clause in zip(joins, clauses[1:]):
        text += join + clause
    return subject, [verb for verb, *_ in actions], draw(st.booleans()), text + "."


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(story=stories())
def test_no_verb_or_adverb_is_an_entity_and_every_scene_keeps_its_subject(story, tiny_preset):
    subject, verbs, lower, prompt = story
    prompt = prompt.lower() if lower else prompt
    script = _plan(prompt, tiny_preset)
    forms = {form for verb in verbs for form in (verb, _third_person(verb))} | {a for a in ADVERBS if a}
    names = [e.name.lower() for e in script.entities]
    assert not [n for n in names if set(n.split()) & forms], (prompt, names)
    subject_id = next(e.id for e in script.entities if e.name.lower() == subject)
    assert all(subject_id in scene.entity_ids for scene in script.scenes), (prompt, _scene_names(script))
    assert len(script.scenes) == len(verbs), (prompt, [s.event for s in script.scenes])
