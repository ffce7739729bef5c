"""The camera an action asks for, from its verb, its particle and the scale of its place.

A move along the ground is followed (tracking), or panned across when the place is wide (a valley, the
sky, the sea); a rise tilts up and a fall or a landing tilts down; an arrival pushes in and a departure
pulls out; a turn on the spot (dancing, spinning) is orbited. Verbs are lemmas, so every form counts.
An event with no such verb keeps a static camera.
"""

from __future__ import annotations

import re

from studio.plan import lexicon as lx
from studio.plan.kinds import WIDE_PLACES

TRAVEL = frozenset({
    "run", "walk", "fly", "drive", "chase", "race", "ride", "swim", "gallop", "sprint", "follow", "travel", "sail",
    "glide", "skate", "march", "hurry", "flee", "soar", "dash", "wander", "roam", "stroll", "hike", "row", "paddle",
    "cross", "float", "drift", "streak", "roll", "crawl", "carry", "pull", "push", "pass", "hop", "cruise", "pedal",
    "coast", "ski", "surf", "slide", "explore", "patrol", "chase", "trot", "jog", "tiptoe", "sneak", "limp", "scurry",
    "rush", "zoom", "speed", "fly", "waddle", "prowl", "stride", "lead", "tow", "haul", "drag", "splash", "jump",
    "leap", "bounce", "run", "swing", "head", "move", "migrate", "charge", "stampede", "circle", "search",
})
UPWARD = frozenset({"rise", "climb", "ascend", "launch", "soar", "lift", "fly up", "take off", "float up", "jump up",
                    "look up", "grow", "rise up", "stand up", "climb up", "go up"})
DOWNWARD = frozenset({"fall", "sink", "descend", "dive", "land", "drop", "plunge", "tumble", "climb down", "go down",
                      "come down", "jump down", "look down", "sit down", "lie down", "slide down", "coast down",
                      "set"})
ARRIVE = frozenset({"arrive", "approach", "enter", "reach", "return", "come", "come back", "walk in", "step in"})
DEPART = frozenset({"leave", "depart", "exit", "retreat", "walk away", "run away", "drive away", "sail away",
                    "fly away", "step out", "go away", "drive off"})
TURN = frozenset({"dance", "spin", "twirl", "orbit", "whirl", "pirouette", "rotate", "revolve", "circle"})
DETAIL = frozenset({"examine", "inspect", "read", "study", "notice", "discover", "spot", "stare", "peer",
                    "write", "sketch", "knit", "sew", "taste"})
# A setting sun, a falling leaf: the downward verbs that need a subject of their own kind to mean a move.
SUBJECT_BOUND = {"set": ("celestial",)}


def _lemmas(word: str) -> list[str]:
    low = word.lower()
    return list(lx.verb_lemma(low)) or [low]


def camera_for_action(verbs: list[str], particle: str = "", place: str = "", subject_kinds: tuple[str, ...] = ()) -> str:
    """The camera move for an event whose verbs are `verbs` (the main verb first), e.g. 'climbs' + 'down'
    -> 'tilt down', 'walks' through a valley -> 'pan right', 'dances' -> 'orbit'; 'static' when no verb moves."""
    wide = any(lx.singular(word) in WIDE_PLACES for word in re.findall(r"[a-z]+", place.lower()))
    for index, verb in enumerate(verbs):
        for lemma in _lemmas(verb):
            phrase = f"{lemma} {particle}" if index == 0 and particle else lemma
            bound = SUBJECT_BOUND.get(lemma)
            if bound is not None and not set(bound) & set(subject_kinds):
                continue
            if phrase in DEPART or lemma in DEPART and not particle:
                return "dolly out"
            if phrase in ARRIVE or lemma in ARRIVE and particle not in ("away", "off", "out"):
                return "dolly in"
            if phrase in DOWNWARD or (lemma in DOWNWARD and particle not in ("up", "off", "out")):
                return "tilt down"
            if phrase in UPWARD or (lemma in UPWARD and particle not in ("down", "out")):
                return "tilt up"
            if lemma in TURN:
                return "orbit"
            if lemma in TRAVEL:
                return "pan right" if wide and lemma not in ("chase", "follow", "carry", "run") else "tracking"
    for verb in verbs[:1]:
        if any(lemma in DETAIL for lemma in _lemmas(verb)):
            return "zoom in"
    return "static"
