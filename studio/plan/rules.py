"""The rules planner: an offline, deterministic prompt -> Script, no model.

1. Split the prompt into events: sentences, ';', 'then', 'later', 'finally', and ',' / 'and' before a
   piece with its own verb ('waters a flower, and carries it outside'; after a plural subject a bare verb
   counts: 'a boy and his grandfather fish ..., cook the catch ...'), never inside a list of nouns.
2. Per event: length words -> chunks, camera and shot words -> camera, then studio.plan.clauses reads
   the subjects (or the last ones), relative clauses, objects, pronouns and quantifiers, the place and
   the time; with no camera words the action's verb and the place's scale pick the camera (motion.py).
3. Every subject and object becomes an entity of its scene (one entity per head noun or name, its
   description the longest phrase the prompt gives it, its kind from kinds.py); a group whose members
   the prompt tells apart ('one ... the other') becomes its members; backgrounds carry over.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from studio.config import Preset
from studio.plan import lexicon as lx
from studio.plan.clauses import (Memory, Mention, camera_move, has_verb, parse_clause, starts_clause, subject_plural,
                                 tokenize, verb_first)
from studio.plan.kinds import gender, noun_kind
from studio.plan.lexicon import NUMBERS, plural_noun
from studio.plan.motion import camera_for_action
from studio.plan.pronouns import member
from studio.plan.repair import _title_from, chunks_for_seconds, clean_name, finish_script, map_camera
from studio.plan.schema import MAX_BACKGROUND_CHARS, MAX_EVENT_CHARS
from studio.project.model import MAX_CHUNKS_PER_SCENE, MAX_ENTITIES, MAX_SCENES, Entity, Scene, Script, slugify, unique_id

CONNECTIVES = ("after that", "afterwards", "then", "later", "finally", "eventually", "next", "meanwhile", "and", "so")
SHORT_WORDS = re.compile(r"\b(brief(ly)?|quick(ly)?|short|moment|glimpse|instant(ly)?|fleeting)\b", re.IGNORECASE)
LONG_WORDS = re.compile(r"\b(long|slow(ly)?|linger(s|ing)?|extended|gradual(ly)?|for a while|for hours|endless(ly)?)\b",
                        re.IGNORECASE)
SECONDS = re.compile(r"\s*\b(?:for\s+)?(\d+(?:\.\d+)?)[ -]?(seconds?|secs?|s|minutes?|mins?)\b", re.IGNORECASE)
CHUNKS = re.compile(r"\s*\b(?:for\s+|in\s+)?(\d+)\s+chunks?\b", re.IGNORECASE)
# Explicit camera language in free text (the looser synonyms are for a planner's camera field only).
CAMERA_CLAUSE = re.compile(r"(?:^|,\s*|;\s*|\s+(?:as|while|and)\s+|\s+)(?:the\s+)?camera\s+[^,;.]*", re.IGNORECASE)
CAMERA_PHRASE = re.compile(
    r"\b(?:in\s+)?(?:an?\s+)?(?:slow\s+)?(?:(?:tracking|aerial|wide|static|orbit(?:ing)?|establishing)\s+shot(?:\s+of)?|"
    r"pan(?:s|ning)?\s+(?:to\s+the\s+)?(?:left|right)|tilt(?:s|ing)?\s+(?:up|down)|zoom(?:s|ing)?\s+(?:in|out)|"
    r"doll(?:y|ies)\s+(?:in|out)|close[- ]up(?:\s+of)?|push(?:es)?\s+in|pull(?:s)?\s+back|orbit(?:s|ing)?)\b",
    re.IGNORECASE)
UNIQUE = frozenset({"sun", "moon", "earth", "sky"})  # one of a kind: 'the sun'
AERIAL = {"aerial shot": "tilt down", "wide shot": "static", "establishing shot": "pan right"}


@dataclass
class Event:
    text: str
    camera: str
    n_chunks: int
    mentions: list[Mention] = field(default_factory=list)
    place: str = ""
    time: str = ""


# ----------------------------------------------------------------------------- 1. events


def _split_actions(piece: str) -> list[str]:
    """'waters a flower, and carries it outside' -> two clauses; 'apples, pears, and plums' stays one."""
    pieces = re.split(r"(,\s*(?:and\s+)?|\s+and\s+)", piece)
    clauses = [pieces[0]]
    plural = subject_plural(piece)  # 'a boy and his grandfather fish ..., cook ...': the bare verb goes on
    for separator, text in zip(pieces[1::2], pieces[2::2]):
        camera_aside = re.match(r"\s*(?:the\s+)?camera\b", text, re.IGNORECASE)  # directs this clause
        if text.strip() and not camera_aside and has_verb(clauses[-1], plural) and starts_clause(text, plural):
            clauses.append(text)
            if not verb_first(text, plural):  # 'and the alarm rings': a subject of its own from here on
                plural = subject_plural(text)
        else:
            clauses[-1] = f"{clauses[-1]}{separator}{text}"
    return clauses


def split_clauses(prompt: str) -> list[tuple[str, bool]]:
    """(event, continues) pairs: the prompt cut at sentence ends, ';', time connectives and ', (and)'
    before a clause with its own verb; `continues` is True for a piece that goes on a sentence."""
    text = re.sub(r"\s+", " ", prompt).strip()
    parts: list[tuple[str, bool]] = []
    for sentence in re.split(r"(?<=[.!?])\s+|;\s*", text):
        pieces = re.split(r",?\s+\b(?:and\s+)?(?:then|later|finally|afterwards|after that|eventually|meanwhile)\b,?\s+",
                          sentence, flags=re.IGNORECASE)
        clauses = [clause for piece in pieces for clause in _split_actions(piece)]
        parts.extend((clause, index > 0) for index, clause in enumerate(clauses))
    events = []
    for part, continues in parts:
        part = part.strip(" ,.;:!?")
        lowered = part.lower()
        for connective in CONNECTIVES:  # "Then the fox ..." -> "the fox ..."
            if lowered.startswith(connective + " ") or lowered.startswith(connective + ","):
                part = part[len(connective):].strip(" ,")
                lowered = part.lower()
        if part:
            events.append((part[:1].upper() + part[1:], continues))
    return events


def split_events(prompt: str) -> list[str]:
    """The prompt's events as text (see split_clauses)."""
    return [event for event, _ in split_clauses(prompt)]


# ----------------------------------------------------------------------------- 2. one event


def _length(text: str, preset: Preset) -> tuple[str, int]:
    default = preset.planning.default_chunks
    match = CHUNKS.search(text)
    if match:
        return CHUNKS.sub("", text, count=1), max(1, min(MAX_CHUNKS_PER_SCENE, int(match.group(1))))
    match = SECONDS.search(text)
    if match:
        seconds = float(match.group(1)) * (60 if match.group(2).lower().startswith("m") else 1)
        return SECONDS.sub("", text, count=1), chunks_for_seconds(seconds, preset)
    if SHORT_WORDS.search(text):
        return text, max(1, default // 2)
    if LONG_WORDS.search(text):
        return text, min(MAX_CHUNKS_PER_SCENE, default * 2)
    return text, default


def _camera(text: str) -> tuple[str, str | None]:
    clause = CAMERA_CLAUSE.search(text)
    if clause:
        camera = camera_move(tokenize(clause.group(0)))
        rest = (text[:clause.start()] + text[clause.end():]).strip(" ,")
        return (rest if len(rest.split()) >= 3 else text), camera or "static"
    phrase = CAMERA_PHRASE.search(text)
    if phrase:
        found = phrase.group(0).lower()
        camera = next((move for key, move in AERIAL.items() if key in found), None) or map_camera(found)
        rest = (text[:phrase.start()] + text[phrase.end():]).strip(" ,")
        rest = re.sub(r"\s{2,}", " ", rest)
        return (rest[:1].upper() + rest[1:] if len(rest.split()) >= 3 else text), camera
    return text, None


def _only_camera(text: str) -> bool:
    """True for an event that is nothing but a camera instruction ('the camera orbits around them')."""
    rest = re.sub(r"^(?:the\s+)?camera\b", "", text.strip(), flags=re.IGNORECASE)
    if rest == text.strip():
        return False
    words = re.findall(r"[A-Za-z']+", rest)
    return not any(w.lower() in {"a", "an", "the", "this", "that"} or w[:1].isupper() for w in words)


def _event(raw: str, preset: Preset, memory: Memory, continues: bool) -> Event:
    """One event: its length, camera, mentions, place and time (the memory moves on to it)."""
    text, n_chunks = _length(raw, preset)
    text, camera = _camera(text.strip(" ,"))
    parsed = parse_clause(text, memory, continues)
    subjects = [m for m in parsed.mentions if m.subject]
    memory.subjects = subjects or memory.subjects
    memory.last_clause = parsed.mentions
    memory.seen.extend(parsed.mentions)
    camera = camera or parsed.camera or camera_for_action(
        parsed.verbs, parsed.particle, parsed.place, tuple(noun_kind(m.words) for m in subjects))
    return Event(text=parsed.text.strip()[:MAX_EVENT_CHARS], camera=camera, n_chunks=n_chunks,
                 mentions=parsed.mentions, place=parsed.place, time=parsed.time)


def analyse_events(prompt: str, preset: Preset) -> list[Event]:
    events: list[Event] = []
    memory = Memory()
    for raw, continues in split_clauses(prompt)[:MAX_SCENES * 4]:
        _, camera = _camera(_length(raw, preset)[0].strip(" ,"))
        if camera and events and _only_camera(raw):  # 'the camera orbits around them' directs the last event
            events[-1].camera = camera
            continue
        events.append(_event(raw, preset, memory, continues))
    _split_groups(events)
    return events


# ----------------------------------------------------------------------------- 3. the script


def _describe(mention: Mention, sex: str = "") -> str:
    """The reference prompt's start: what the prompt says about the entity ('two kids', 'an elderly
    painter in a blue coat', 'a female pilot' when the prompt says 'her'; 'a painter' for 'first painter')."""
    words = mention.words[1:] if mention.member_of else mention.words
    name = " ".join(words)
    if sex and not mention.proper and not gender(words):
        name = f"{sex} {name}"
    if not mention.proper:
        if mention.count == 0 and not lx.is_plural_noun(words[-1]):  # 'each dancer' -> 'some dancers'
            name = f"{' '.join(words[:-1])} {plural_noun(words[-1])}".strip()
        count = next((word for word, n in NUMBERS.items() if n == mention.count and " " not in word), "")
        article = "some" if mention.count == 0 else ("an" if name[:1].lower() in "aeiou" else "a")
        article = "the" if " ".join(words).lower() in UNIQUE else article  # 'the sun', not 'a sun'
        name = f"{count if mention.count > 1 and count else article} {name}"
    return f"{name} {mention.detail}".strip()


def entity_kind(words: list[str], acts: bool) -> str:
    """'character' for people and animals, and for whatever acts as a subject ('a robot rolls'); 'object'
    for vehicles, celestial bodies and things ('a ship sails' and 'the moon rises' are still objects)."""
    kind = noun_kind(words)
    if kind in ("vehicle", "celestial", "thing"):
        return "object"
    return "character" if kind in ("person", "animal") or acts else "object"


def _entities(events: list[Event]) -> dict[str, Entity]:
    """One entity per key, named and described by its fullest mention; its kind from the kind lexicon."""
    fullest: dict[str, Mention] = {}
    for mention in (m for event in events for m in event.mentions):
        best = fullest.get(mention.key)
        if best is None or (len(mention.words), len(mention.detail)) > (len(best.words), len(best.detail)):
            detail = mention.detail or (best.detail if best else "")
            fullest[mention.key] = Mention(mention.key, mention.words, mention.subject, mention.proper,
                                           mention.count if best is None or mention.count != 1 else best.count, detail,
                                           member_of=mention.member_of)
        elif mention.detail and not best.detail:
            best.detail = mention.detail
    acting = {m.key for event in events for m in event.mentions if m.subject or m.proper}
    sexes = {m.key: m.gender for event in events for m in event.mentions if m.gender}
    entities: dict[str, Entity] = {}
    for key, mention in list(fullest.items())[:MAX_ENTITIES]:
        name = clean_name(" ".join(mention.words))
        entity_id = unique_id(slugify(name, fallback="entity"), {e.id for e in entities.values()})
        entities[key] = Entity(id=entity_id, name=name, description=_describe(mention, sexes.get(key, "")),
                               kind=entity_kind(mention.words, key in acting))
    return entities


def _split_groups(events: list[Event]) -> None:
    """'Two painters ...; one spills the paint, the other ...': once the prompt tells members of a group
    apart, every scene of the group shows both members instead of the group."""
    members: dict[str, list[Mention]] = {}
    for mention in (m for event in events for m in event.mentions if m.member_of):
        members.setdefault(mention.member_of, [])
    for event in events:
        for mention in event.mentions:
            if mention.key in members and not members[mention.key]:
                members[mention.key] = [member(mention, role) for role in ("first", "second")]
    for event in events:
        mentions: list[Mention] = []
        for mention in event.mentions:
            split = members.get(mention.key) or [mention]
            mentions += [Mention(m.key, m.words, mention.subject, m.proper, m.count, m.detail, member_of=m.member_of,
                                 gender=m.gender) for m in split]
        event.mentions = mentions


def _backgrounds(events: list[Event]) -> list[str]:
    """Each event's place and time; a scene with no place keeps the last one (the first takes the first)."""
    place = next((e.place for e in events if e.place), "")
    backgrounds = []
    for event in events:
        place = event.place or place
        backgrounds.append(f"{place} {event.time}".strip()[:MAX_BACKGROUND_CHARS])
    return backgrounds


def plan_rules(prompt: str, preset: Preset, num_scenes: int | None = None) -> Script:
    """Plan `prompt` without a model; the same prompt and preset always give the same Script."""
    events = analyse_events(prompt, preset)
    if not events:
        events = [Event(text=prompt.strip()[:MAX_EVENT_CHARS], camera="static", n_chunks=preset.planning.default_chunks)]
    entities = _entities(events)
    scenes = []
    for event, background in zip(events, _backgrounds(events)):
        entity_ids = list(dict.fromkeys(entities[m.key].id for m in event.mentions if m.key in entities))
        scenes.append(Scene(id="scene", title=_title_from(event.text), event=event.text, entity_ids=entity_ids,
                            background=background, camera=event.camera, n_chunks=event.n_chunks, seed=-1))
    if num_scenes is None and len(scenes) > MAX_SCENES:
        num_scenes = MAX_SCENES
    return finish_script(prompt, scenes, list(entities.values()), num_scenes)
