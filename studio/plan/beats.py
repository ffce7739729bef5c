"""More scenes than events: an event told in beats (establishing, action, outcome) instead of copies.

'A fox jumps over a fallen log' in three scenes becomes 'A fox about to jump over a fallen log' (a wide
establishing shot), the event itself, and 'The fox has jumped over a fallen log' (the outcome, the camera
pulling out). Two beats are the action and its outcome. Each beat is a scene of the event's length, so
Scenes=3 on a one-event prompt gives three scenes of the same length, not 1/1/2 chunks.
"""

from __future__ import annotations

import re
from dataclasses import replace

from studio.plan import lexicon as lx
from studio.plan.clauses import parse_clause
from studio.plan.pronouns import Memory
from studio.plan.schema import MAX_EVENT_CHARS
from studio.project.model import Scene

BEATS = {1: ("action",), 2: ("action", "outcome"), 3: ("establishing", "action", "outcome")}
BEAT_CAMERA = {"establishing": "pan right", "outcome": "dolly out"}


def _parts(event: str) -> tuple[str, str, str, bool] | None:
    """(subject text, verb lemma, the rest, plural subject) of an event, or None when no verb is found."""
    parsed = parse_clause(event, Memory())
    if not parsed.verbs:
        return None
    words = event.split()
    verb = parsed.verbs[0]
    index = next((i for i, word in enumerate(words) if re.sub(r"\W", "", word) == verb), None)
    lemmas = lx.verb_lemma(verb)
    if index is None or index == 0 or not lemmas:
        return None
    subjects = [m for m in parsed.mentions if m.subject]
    plural = len(subjects) > 1 or any(m.count != 1 for m in subjects)
    return " ".join(words[:index]), lemmas[0], " ".join(words[index + 1:]), plural


def _definite(subject: str) -> str:
    """'A fox' -> 'The fox' (it is the one the scene before showed)."""
    return re.sub(r"^(?:a|an)\s+", "The ", subject, flags=re.IGNORECASE)


def beat_event(event: str, beat: str) -> str | None:
    """The event text of one beat, or None when the event has no verb to tell it by."""
    if beat == "action":
        return event
    parts = _parts(event)
    if parts is None:
        return None
    subject, lemma, rest, plural = parts
    import lemminflect

    if beat == "establishing":
        text = f"{subject} about to {lemma} {rest}"
    else:
        done = (lemminflect.getInflection(lemma, "VBN") or [lemma])[0]
        text = f"{_definite(subject)} {'have' if plural else 'has'} {done} {rest}"
    return text.strip()[:MAX_EVENT_CHARS]


def tell_in_beats(scene: Scene, count: int, title_from) -> list[Scene]:
    """`scene` as `count` scenes (1 to 3 beats); [] when its event has no verb to tell beats by."""
    beats = BEATS[max(1, min(3, count))]
    scenes = []
    for beat in beats:
        event = beat_event(scene.event, beat)
        if event is None:
            return []
        camera = BEAT_CAMERA.get(beat, scene.camera)
        scenes.append(replace(scene, title=title_from(event) if beat != "action" else scene.title, event=event,
                              entity_ids=list(scene.entity_ids), camera=camera, chunk_prompts=[] if beat != "action"
                              else list(scene.chunk_prompts), chunks=[], seed=scene.seed if beat == "action" else -1))
    return scenes

