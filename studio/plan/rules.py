"""The rules planner: an offline, deterministic prompt -> Script, no model.

1. Split the prompt into events: sentences, ';', 'then', 'later', 'finally', ', and <clause>'.
2. Per event: length words -> chunks, camera words -> camera, the subject (a pronoun is the last
   subject), other noun phrases, and place phrases -> background.
3. Subjects become entities, and so does every other noun that recurs in two or more events (the
   shared entities whose reference image is reused, VideoStudio's rule); backgrounds carry over.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from studio.config import Preset
from studio.plan.repair import _title_from, chunks_for_seconds, clean_name, finish_script, map_camera
from studio.plan.schema import MAX_BACKGROUND_CHARS, MAX_EVENT_CHARS
from studio.project.model import MAX_CHUNKS_PER_SCENE, MAX_ENTITIES, MAX_SCENES, Entity, Scene, Script, slugify, unique_id

DETERMINERS = {"a", "an", "the", "this", "that", "these", "those", "his", "her", "its", "their", "my", "our",
               "your", "one", "two", "three", "some", "several", "another"}
POSSESSIVES = {"his", "her", "its", "their", "my", "our", "your"}
SUBJECT_PRONOUNS = {"he", "she", "it", "they"}
CONNECTIVES = ("after that", "afterwards", "then", "later", "finally", "eventually", "next", "meanwhile", "and", "so")
STOP_WORDS = {
    "in", "on", "at", "to", "into", "onto", "from", "with", "without", "through", "across", "over", "under", "near",
    "along", "beside", "by", "behind", "toward", "towards", "around", "inside", "outside", "above", "below", "past",
    "of", "for", "as", "while", "when", "until", "and", "or", "but", "then", "is", "are", "was", "were", "be", "been",
    "has", "have", "had", "will", "can", "could", "would", "does", "do", "did", "who", "which", "that", "up", "down",
    "out", "off", "away", "back", "again", "very", "he", "she", "it", "they", "him", "them", "there", "here", "where",
} | DETERMINERS
BASE_VERBS = {"run", "walk", "fly", "play", "dance", "sing", "swim", "sit", "stand", "look", "jump", "sleep", "eat",
              "fight", "meet", "watch", "wait", "ride", "drive", "climb", "fall", "rise", "turn", "open", "close",
              "enter", "leave", "find", "see", "chase", "explore", "race", "hide", "wake", "begin", "start", "stop"}
MOTION_WORDS = {"run", "runs", "running", "walk", "walks", "walking", "fly", "flies", "flying", "drive", "drives",
                "driving", "chase", "chases", "chasing", "race", "races", "racing", "ride", "rides", "riding", "swim",
                "swims", "swimming", "gallop", "gallops", "galloping", "sprint", "sprints", "follow", "follows",
                "travel", "travels", "sail", "sails", "glide", "glides", "skate", "skates", "march", "marches",
                "hurry", "hurries", "flee", "flees", "soar", "soars", "dash", "dashes", "wander", "wanders"}
PLACE_WORDS = {
    "forest", "woods", "jungle", "city", "town", "village", "street", "streets", "road", "alley", "market",
    "beach", "shore", "coast", "sea", "ocean", "lake", "river", "pond", "waterfall", "mountain", "mountains",
    "hill", "hills", "valley", "canyon", "desert", "field", "fields", "meadow", "farm", "garden", "park", "sky",
    "space", "moon", "planet", "room", "kitchen", "bedroom", "office", "house", "home", "castle", "palace", "temple",
    "church", "cave", "den", "tunnel", "station", "airport", "harbor", "harbour", "port", "bridge", "rooftop",
    "stage", "studio", "library", "classroom", "school", "cafe", "restaurant", "bar", "shop", "store", "mall",
    "lab", "laboratory", "factory", "warehouse", "arena", "stadium", "island", "cliff", "cliffs", "glacier", "swamp",
    "marsh", "savanna", "prairie", "reef", "highway", "square", "plaza", "courtyard", "hallway", "corridor", "attic",
    "basement", "garage", "spaceship", "galaxy", "universe", "underwater", "seabed", "volcano", "dunes", "snowfield",
    "countryside", "harbour", "pier", "dock", "shipyard", "skyline", "rainforest", "orchard", "vineyard", "ruins",
}
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
CAMERA_NOUNS = {"camera", "shot", "view", "frame", "scene", "video", "film"}
PLACE_PREPOSITIONS = {"in", "into", "at", "through", "across", "over", "to", "from", "near", "around", "above"}
AERIAL = {"aerial shot": "tilt down", "wide shot": "static", "establishing shot": "pan right"}


@dataclass
class Mention:
    key: str  # the head noun, lower-case, or the proper name: what makes two mentions one entity
    words: list[str]  # the words after the determiner
    subject: bool
    proper: bool = False


@dataclass
class Event:
    text: str
    camera: str
    n_chunks: int
    mentions: list[Mention] = field(default_factory=list)
    background: str = ""


# ----------------------------------------------------------------------------- 1. events


def split_events(prompt: str) -> list[str]:
    """The prompt cut at sentence ends, ';', time connectives and ', and <clause>'."""
    text = re.sub(r"\s+", " ", prompt).strip()
    parts: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+|;\s*", text):
        pieces = re.split(r",?\s+\b(?:and\s+)?(?:then|later|finally|afterwards|after that|eventually|meanwhile)\b,?\s+",
                          sentence, flags=re.IGNORECASE)
        for piece in pieces:
            clauses = re.split(r",\s+and\s+", piece)
            merged = [clauses[0]]
            for clause in clauses[1:]:  # ', and' splits only clause from clause, never a short list item
                if len(clause.split()) >= 3 and len(merged[-1].split(",")[-1].split()) >= 3:
                    merged.append(clause)
                else:
                    merged[-1] = f"{merged[-1]}, and {clause}"
            parts.extend(merged)
    events = []
    for part in parts:
        part = part.strip(" ,.;:!?")
        lowered = part.lower()
        for connective in CONNECTIVES:  # "Then the fox ..." -> "the fox ..."
            if lowered.startswith(connective + " ") or lowered.startswith(connective + ","):
                part = part[len(connective):].strip(" ,")
                lowered = part.lower()
        if part:
            events.append(part[:1].upper() + part[1:])
    return events


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
        camera = map_camera(clause.group(0))
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
    """True for an event that is nothing but a camera instruction (no subject, no new noun phrase)."""
    rest = re.sub(r"^(?:the\s+)?camera\b", "", text.strip(), flags=re.IGNORECASE)
    if rest == text.strip():
        return False
    words = re.findall(r"[A-Za-z']+", rest)
    return not any(w.lower() in DETERMINERS or w[:1].isupper() for w in words)


def _verb_like(word: str, position: int) -> bool:
    low = word.lower()
    if low in STOP_WORDS or low in BASE_VERBS or low.endswith("ly"):
        return True
    if position == 0:  # the first word after a determiner is part of the noun phrase ('a running dog')
        return False
    return (low.endswith("ing") or (low.endswith("ed") and len(low) > 4)
            or (low.endswith("s") and not low.endswith(("ss", "us", "is", "ys")) and len(low) > 3))


def _noun_phrase(words: list[str], start: int) -> tuple[list[str], int]:
    phrase: list[str] = []
    i = start
    while i < len(words) and len(phrase) < 4 and re.match(r"[A-Za-z]", words[i]) and not _verb_like(words[i], len(phrase)):
        phrase.append(words[i])
        i += 1
    return phrase, i


def _analyse(text: str, last_subjects: list[Mention]) -> tuple[str, list[Mention], str]:
    """The event text with a leading pronoun resolved, its mentions, and its place ('' if none)."""
    words = re.findall(r"[A-Za-z][A-Za-z'-]*|\d+|[^\sA-Za-z\d]", text)
    mentions: list[Mention] = []
    background = ""
    i = 0
    # The subject: a pronoun (the last subject), 'the red fox (and the hare)', or a proper name.
    while i < len(words):
        low = words[i].lower()
        if low in SUBJECT_PRONOUNS and last_subjects:
            mentions.extend(Mention(m.key, m.words, True, m.proper) for m in last_subjects)
            if i == 0:
                names = " and ".join(("" if m.proper else "the ") + " ".join(m.words) for m in last_subjects)
                text = names[:1].upper() + names[1:] + text[len(words[0]):]
            i += 1
        elif low in DETERMINERS:
            phrase, i = _noun_phrase(words, i + 1)
            if phrase and phrase[-1].lower() not in PLACE_WORDS:
                mentions.append(Mention(phrase[-1].lower(), phrase, True))
        elif words[i][:1].isupper() and low not in STOP_WORDS and low not in BASE_VERBS:
            start = i
            while i < len(words) and words[i][:1].isupper() and words[i].lower() not in STOP_WORDS:
                i += 1
            mentions.append(Mention(" ".join(words[start:i]).lower(), words[start:i], True, proper=True))
        else:
            break
        if i < len(words) and words[i].lower() == "and":
            i += 1
            continue
        break
    # The rest: noun phrases after determiners, capitalised names, and places after a preposition.
    while i < len(words):
        low = words[i].lower()
        if low in DETERMINERS:
            previous = words[i - 1].lower() if i else ""
            determiner = "the" if low in POSSESSIVES else low
            phrase, i = _noun_phrase(words, i + 1)
            if not phrase:
                continue
            if phrase[-1].lower() in PLACE_WORDS:
                if not background and previous in STOP_WORDS | {"enters", "reaches", "leaves", "crosses", "explores"}:
                    background = f"{determiner} {' '.join(phrase)}"
            else:
                mentions.append(Mention(phrase[-1].lower(), phrase, False))
            continue
        if low in PLACE_WORDS and i and words[i - 1].lower() in {"in", "into", "at", "through", "across", "over", "underwater"}:
            background = background or low
        elif words[i][:1].isupper() and low not in STOP_WORDS and low not in BASE_VERBS and i > 0:
            start = i
            while i < len(words) and words[i][:1].isupper() and words[i].lower() not in STOP_WORDS:
                i += 1
            name = " ".join(words[start:i])
            if words[start - 1].lower() in PLACE_PREPOSITIONS:  # 'in Paris' is a place, not a character
                background = f"{background} in {name}" if background and words[start - 1].lower() == "in" else background or name
            else:
                mentions.append(Mention(name.lower(), words[start:i], False, proper=True))
            continue
        i += 1
    mentions = [m for m in mentions if m.key not in CAMERA_NOUNS]
    return text, mentions, background[:MAX_BACKGROUND_CHARS]


def analyse_events(prompt: str, preset: Preset) -> list[Event]:
    events: list[Event] = []
    last_subjects: list[Mention] = []
    for raw in split_events(prompt)[:MAX_SCENES * 4]:
        text, n_chunks = _length(raw, preset)
        text, camera = _camera(text.strip(" ,"))
        if camera and events and _only_camera(text):  # 'the camera orbits around them' directs the last event
            events[-1].camera = camera
            continue
        text, mentions, background = _analyse(text, last_subjects)
        subjects = [m for m in mentions if m.subject]
        if subjects:
            last_subjects = subjects
        if camera is None:
            moving = any(w in MOTION_WORDS for w in re.findall(r"[a-z]+", text.lower()))
            camera = "tracking" if moving else "static"
        events.append(Event(text=text.strip()[:MAX_EVENT_CHARS], camera=camera, n_chunks=n_chunks,
                            mentions=mentions, background=background))
    return events


# ----------------------------------------------------------------------------- 3. the script


def _describe(words: list[str], proper: bool) -> str:
    name = " ".join(words)
    if proper:
        return name
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def plan_rules(prompt: str, preset: Preset, num_scenes: int | None = None) -> Script:
    """Plan `prompt` without a model; the same prompt and preset always give the same Script."""
    events = analyse_events(prompt, preset)
    if not events:
        events = [Event(text=prompt.strip()[:MAX_EVENT_CHARS], camera="static", n_chunks=preset.planning.default_chunks)]
    # Which event each head noun appears in; subjects always count, other nouns only when they recur.
    appearances: dict[str, set[int]] = {}
    longest: dict[str, Mention] = {}
    for index, event in enumerate(events):
        for mention in event.mentions:
            appearances.setdefault(mention.key, set()).add(index)
            if mention.key not in longest or len(mention.words) > len(longest[mention.key].words):
                longest[mention.key] = mention
    keys = [m.key for e in events for m in e.mentions if m.subject or m.proper or len(appearances[m.key]) >= 2]
    ordered = list(dict.fromkeys(keys))[:MAX_ENTITIES]
    entities: dict[str, Entity] = {}
    for key in ordered:
        mention = longest[key]
        name = clean_name(" ".join(mention.words))
        entity_id = unique_id(slugify(name, fallback="entity"), {e.id for e in entities.values()})
        kind = "character" if any(m.subject for e in events for m in e.mentions if m.key == key) or mention.proper else "object"
        entities[key] = Entity(id=entity_id, name=name, description=_describe(mention.words, mention.proper), kind=kind)
    scenes = []
    for event in events:
        entity_ids = list(dict.fromkeys(entities[m.key].id for m in event.mentions if m.key in entities))
        scenes.append(Scene(id="scene", title=_title_from(event.text), event=event.text, entity_ids=entity_ids,
                            background=event.background, camera=event.camera, n_chunks=event.n_chunks, seed=-1))
    if num_scenes is None and len(scenes) > MAX_SCENES:
        num_scenes = MAX_SCENES
    # Scenes before the first named place take that place too (the opening shot has a setting).
    first_place = next((s.background for s in scenes if s.background), "")
    for scene in scenes:
        if scene.background:
            break
        scene.background = first_place
    return finish_script(prompt, scenes, list(entities.values()), num_scenes)
