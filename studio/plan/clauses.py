"""One clause -> who is in it and where: subject, verb, objects, place, time and camera words.

The parser reads a clause as [camera words] [subject] [verb] [objects and prepositional phrases],
with parts of speech from studio.plan.lexicon. A clause with no subject takes the last one; pronouns
resolve to the last entity that fits; 'two kids' is one entity with a count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from studio.plan import lexicon as lx
from studio.plan.repair import map_camera

PLACE_WORDS = frozenset({
    "forest", "woods", "jungle", "city", "town", "village", "street", "road", "alley", "market", "beach", "shore",
    "coast", "sea", "ocean", "lake", "river", "pond", "waterfall", "mountain", "hill", "valley", "canyon", "desert",
    "field", "meadow", "farm", "garden", "park", "sky", "space", "moon", "planet", "room", "kitchen", "bedroom",
    "office", "house", "home", "castle", "palace", "temple", "church", "cave", "den", "tunnel", "station", "airport",
    "harbor", "harbour", "port", "bridge", "rooftop", "stage", "studio", "library", "classroom", "school", "cafe",
    "restaurant", "bar", "shop", "store", "mall", "lab", "laboratory", "factory", "warehouse", "arena", "stadium",
    "island", "cliff", "glacier", "swamp", "marsh", "savanna", "prairie", "reef", "highway", "square", "plaza",
    "courtyard", "hallway", "corridor", "attic", "basement", "garage", "spaceship", "galaxy", "universe", "seabed",
    "volcano", "dune", "snowfield", "countryside", "pier", "dock", "shipyard", "skyline", "rainforest", "orchard",
    "vineyard", "ruin", "greenhouse", "junkyard", "porch", "stair", "staircase", "balcony", "lighthouse", "tower",
    "storm", "rain", "snow", "fog", "mist", "horizon", "surface", "water", "bay", "path", "trail",
    "neighborhood", "neighbourhood", "subway", "workshop", "bakery", "hospital", "museum", "theater",
    "theatre", "gym", "pool", "yard", "backyard", "campsite", "camp", "tent", "cabin", "hut", "barn", "stream",
    "lagoon", "tundra", "wasteland", "metropolis", "downtown", "alleyway", "sidewalk", "crosswalk", "dancefloor",
    "sand", "grass", "mud", "ice", "puddle", "darkness", "moonlight", "sunlight",
})
TIME_WORDS = frozenset({"dawn", "dusk", "night", "midnight", "noon", "sunrise", "sunset", "twilight", "morning",
                        "evening", "afternoon", "daybreak", "nightfall", "daytime", "nighttime", "winter", "summer",
                        "autumn"})
CLOTHING = frozenset({"coat", "dress", "suit", "jacket", "hat", "cloak", "robe", "armor", "armour", "uniform",
                      "scarf", "hood", "hoodie", "shirt", "sweater", "boots", "gown", "cape", "helmet", "glasses",
                      "apron", "overalls", "kimono", "raincoat", "mask"})
# Camera and shot vocabulary: these set the camera or stay in the text as style, never an entity.
CAMERA_WORDS = frozenset({"camera", "shot", "view", "close-up", "closeup", "time-lapse", "timelapse", "footage",
                          "flythrough", "fly-through", "pov", "angle", "panorama", "montage", "clip", "drone",
                          "motion", "zoom", "lens", "frame", "scene", "video", "film", "sequence", "take", "flyover",
                          "aerial", "macro", "tracking", "dolly", "pan", "tilt", "orbit", "handheld", "steadicam"})
CAMERA_EXTRA = {"drone": "tracking", "flythrough": "dolly in", "fly-through": "dolly in", "flyover": "tracking",
                "overhead": "tilt down", "bird's-eye": "tilt down", "aerial": "tilt down", "wide": "static",
                "establishing": "pan right"}
PLACE_PREPOSITIONS = frozenset({"in", "into", "inside", "at", "through", "across", "along", "within", "throughout",
                                "around", "over", "above", "under", "beneath", "near", "by", "on", "onto", "to",
                                "toward", "towards", "beside", "behind", "past", "outside", "among", "amid",
                                "down", "up", "from", "beyond"})
LEAD_WORDS = frozenset({"then", "and", "so", "later", "finally", "next", "afterwards", "eventually", "meanwhile",
                        "suddenly", "together", "soon", "now", "also", "again"})
FEATURES = frozenset({"hair", "beard", "mustache", "moustache", "eyes", "wings", "tail", "horns", "fur", "feathers",
                      "scales", "freckles", "tattoos", "antlers", "spots", "stripes"})
TOKEN = re.compile(r"[A-Za-z][A-Za-z'-]*|\d+|[^\sA-Za-z\d]")


@dataclass
class Mention:
    key: str  # the head noun's lemma or the proper name, lower-case: what makes two mentions one entity
    words: list[str]  # the name: modifiers and head, no determiner
    subject: bool
    proper: bool = False
    count: int = 1  # 'two kids' -> 2; a plain plural is 0 (some)
    detail: str = ""  # 'in a blue coat', 'with red hair'
    oblique: bool = False  # after a preposition ('from a merchant'): 'it' means the direct object first


@dataclass
class Parsed:
    mentions: list[Mention] = field(default_factory=list)
    place: str = ""
    time: str = ""
    camera: str | None = None
    text: str = ""  # the clause with a leading pronoun resolved


@dataclass
class Memory:
    """What a pronoun or a subject-less clause can refer back to."""

    subjects: list[Mention] = field(default_factory=list)
    last_clause: list[Mention] = field(default_factory=list)
    seen: list[Mention] = field(default_factory=list)


def tokenize(text: str) -> list[str]:
    return TOKEN.findall(text)


def _word(token: str) -> bool:
    return bool(re.match(r"[A-Za-z]", token))


def _proper(token: str, index: int) -> bool:
    """A capitalised name: not a sentence-initial common word ('Alice', 'Bob', 'Tokyo'; not 'Kids')."""
    if not token[:1].isupper() or token.lower() in lx.CLOSED_CLASS:
        return False
    if index > 0:
        return True
    found = lx.lemmas(token)
    return not found or any(lemma[:1].isupper() for values in found.values() for lemma in values)


# ----------------------------------------------------------------------------- noun phrases


def _count(tokens: list[str], i: int) -> tuple[int | None, int]:
    """A number word or digits at `i`: (count, next index); (None, i) when there is none."""
    low = tokens[i].lower() if i < len(tokens) else ""
    if low in lx.NUMBERS:
        return lx.NUMBERS[low], i + 1
    if low.isdecimal() and 1 < int(low) < 100:  # isdigit() also takes "¹", which int() refuses
        return int(low), i + 1
    return None, i


def _noun(low: str) -> bool:
    """A noun by the lexicon, or by the place, time and clothing vocabulary (the lexicon lacks a few, e.g. 'bar')."""
    return lx.can_be_noun(low) or low in PLACE_WORDS or low in TIME_WORDS or low in CLOTHING


def _np_word(tokens: list[str], i: int, words: list[str], bare_verb_stop: bool, plural: bool, name: bool) -> bool:
    """Whether tokens[i] continues the noun phrase `words` (`name`: it is a proper name so far)."""
    token = tokens[i]
    low = token.lower()
    if not _word(token) or low in lx.CLOSED_CLASS or lx.is_adverb_only(low) or len(words) >= 5:
        return False
    if words and name and not token[:1].isupper():
        return False  # 'Alice meets': a name ends at the first lower-case word
    nxt = tokens[i + 1].lower() if i + 1 < len(tokens) else ""
    next_is_noun = bool(nxt) and _word(nxt) and nxt not in lx.CLOSED_CLASS and lx.can_be_noun(nxt)
    if words and _noun(words[-1].lower()):
        after_adjective = "ADJ" in lx.tags(words[-1]) and lx.is_plural_noun(low)
        if lx.finite_verb(low, plural or lx.is_plural_noun(words[-1])) and not after_adjective \
                and low not in CAMERA_WORDS:  # ... but 'a wide shot' goes on
            return False  # 'a ship passes', 'the kids build' (but 'the dark woods')
        if low.endswith("ing") and "VERB" in lx.tags(low) and not next_is_noun:
            return False  # 'a fox running through', 'a clock ticking'
        if bare_verb_stop and lx.verb_lemma(low) and low in lx.verb_lemma(low):
            return False  # 'watch the sun rise'
    if _noun(low) or (lx.tags(low) & {"ADJ"}):
        return True
    return lx.can_be_modifier(low) and next_is_noun


def noun_phrase(tokens: list[str], i: int, *, bare_verb_stop: bool = False,
                plural: bool = False) -> tuple[Mention | None, int]:
    """The noun phrase at `i` ('the two tiny robots', 'Alice', 'kids') and the index after it."""
    start = i
    determined = False
    low = tokens[i].lower() if i < len(tokens) else ""
    if low in lx.DETERMINERS or low in lx.POSSESSIVES:
        determined, i = True, i + 1
        if low in {"a", "an"} and i + 1 < len(tokens) and tokens[i].lower() in {"pair", "couple", "group", "pack",
                                                                                "flock", "herd", "crowd", "team"} \
                and tokens[i + 1].lower() == "of":
            i += 2
    count, i = _count(tokens, i)
    words: list[str] = []
    while i < len(tokens) and _np_word(tokens, i, words, bare_verb_stop, plural,
                                       not determined and bool(words) and _proper(words[0], start)):
        words.append(tokens[i])
        i += 1
    if not words:
        return None, start
    of_noun = i + 1 < len(tokens) and tokens[i].lower() == "of" and _word(tokens[i + 1]) \
        and tokens[i + 1].lower() not in lx.CLOSED_CLASS and _noun(tokens[i + 1].lower())
    if of_noun and words[-1].lower() not in CAMERA_WORDS:
        words += ["of", tokens[i + 1]]  # 'a loaf of bread', 'a cup of coffee': one thing, named by its head
        i += 2
        head_index = len(words) - 3
    else:
        head_index = len(words) - 1
    proper = not determined and _proper(words[0], start)
    head = words[head_index]
    plural = lx.is_plural_noun(head)
    if count is None:
        count = 0 if plural else 1
    key = " ".join(words).lower() if proper else lx.singular(head)
    return Mention(key=key, words=words, subject=False, proper=proper, count=count), i


def _is_camera(mention: Mention) -> bool:
    return any(w.lower() in CAMERA_WORDS for w in mention.words)


def camera_move(words: list[str]) -> str | None:
    """The camera move that camera words name ('pans' -> pan right, 'drone shot' -> tracking)."""
    lowered = [w.lower() for w in words]
    lemmatised = " ".join(lx.verb_lemma(w)[0] if w.endswith(("s", "ing", "ed")) and lx.is_verb_form(w) else w
                          for w in lowered)  # 'pans' -> 'pan', never 'left' -> 'leave'

    return map_camera(lemmatised) or next((CAMERA_EXTRA[w] for w in lowered if w in CAMERA_EXTRA), None)


# ----------------------------------------------------------------------------- pronouns


def resolve_pronoun(pronoun: str, memory: Memory, exclude: set[str]) -> list[Mention]:
    """The entities `pronoun` most likely means, from what came before (never one in `exclude`)."""
    low = pronoun.lower()
    candidates = [m for m in reversed(memory.seen) if m.key not in exclude]
    if low in lx.PLURAL_PRONOUNS:
        groups = [m for m in reversed(memory.seen) if m.subject and m.count != 1 and m.key not in exclude]
        if len(memory.subjects) > 1 or any(m.count != 1 for m in memory.subjects):
            group = memory.subjects
        elif groups:  # 'two kids build ..., a wave washes it away, and they laugh'
            group = groups[:1]
        else:
            companions = [m for m in memory.last_clause if not m.subject][:1]
            group = memory.subjects + companions
        return [m for m in group if m.key not in exclude] or candidates[:1]
    if low in lx.PERSON_PRONOUNS:
        people = [m for m in candidates if m.subject or m.proper]
        return (people or candidates)[:1]
    if low == "them":  # 'gathers acorns ... hides them'
        plural_things = [m for m in candidates if not m.subject and m.count != 1]
        if plural_things:
            return plural_things[:1]
    things = sorted((m for m in candidates if not m.subject and m.count == 1 and not m.proper),
                    key=lambda m: m.oblique)  # stable: the latest direct object, then the latest other
    if low == "it" and not exclude:  # a subject 'it' is most often the last subject
        things = [m for m in reversed(memory.subjects) if m.count == 1] + things
    return (things or candidates)[:1]


# ----------------------------------------------------------------------------- the clause


def _lead(tokens: list[str], i: int) -> int:
    while i < len(tokens) and (tokens[i].lower() in LEAD_WORDS or lx.is_adverb_only(tokens[i]) or tokens[i] == ","):
        i += 1
    return i


def _camera_lead(tokens: list[str], i: int, parsed: Parsed) -> int:
    """'the camera slowly pans across' / 'a drone shot of' / 'aerial view of': set the camera, skip past."""
    mention, j = noun_phrase(tokens, i)
    if mention is None or not _is_camera(mention):
        return i
    moved = list(mention.words)
    while j < len(tokens) and _word(tokens[j]) and (lx.is_adverb_only(tokens[j]) or lx.verb_lemma(tokens[j])
                                                     or tokens[j].lower() in lx.PARTICLES | {"of", "across", "to",
                                                                                             "toward", "towards"}):
        moved.append(tokens[j])
        j += 1
        if tokens[j - 1].lower() in {"of", "across", "over", "around", "to", "toward", "towards", "past", "through"}:
            break
    parsed.camera = camera_move(moved) or parsed.camera
    return j


def _verb_led(tokens: list[str], i: int, continues: bool) -> bool:
    """'Lights the lamp', 'Falls asleep': a clause that opens on its verb (not 'Kids build', 'Bob steals').
    `continues`: the clause goes on a sentence ('..., and then rides home'), where a verb is what comes."""
    if i >= len(tokens) or not _word(tokens[i]) or not lx.finite_verb(tokens[i], False):
        return False
    if continues:
        return True
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    return not (nxt and _word(nxt) and lx.finite_verb(nxt, lx.is_plural_noun(tokens[i]))
                and nxt.lower() not in lx.CLOSED_CLASS)


def _clothing(tokens: list[str], i: int, mention: Mention) -> int:
    """'an elderly painter in a blue coat', 'a woman with red hair': what the subject wears or looks like
    becomes its detail."""
    if i + 1 < len(tokens) and tokens[i].lower() in {"in", "wearing", "with"}:
        worn, j = noun_phrase(tokens, i + 1)
        if worn is not None and lx.singular(worn.words[-1]) in CLOTHING | FEATURES | {w.rstrip("s") for w in FEATURES}:
            mention.detail = " ".join(tokens[i:j])
            return j
    return i


def _subjects(tokens: list[str], i: int, memory: Memory, parsed: Parsed,
              continues: bool) -> tuple[list[Mention], int]:
    subjects: list[Mention] = []
    if memory.subjects and _verb_led(tokens, i, continues):  # with no one to carry over, read a subject
        return subjects, i
    while i < len(tokens):
        low = tokens[i].lower()
        if low in lx.SUBJECT_PRONOUNS:
            found = resolve_pronoun(low, memory, set())
            subjects.extend(found)
            if i == 0 and found:
                names = " and ".join(("" if m.proper else "the ") + " ".join(m.words) for m in found)
                parsed.text = names[:1].upper() + names[1:] + parsed.text[len(tokens[0]):]
            i += 1
        else:
            mention, j = noun_phrase(tokens, i, plural=bool(subjects))
            if mention is None or _is_camera(mention):
                break
            j = _clothing(tokens, j, mention)
            if mention.key in PLACE_WORDS and not mention.proper:
                break  # 'the forest glows': a place, not a character
            subjects.append(mention)
            i = j
        if i < len(tokens) and tokens[i].lower() == "and" and i + 1 < len(tokens) and _word(tokens[i + 1]):
            i += 1
            continue
        break
    return subjects, i


def _phrase(tokens: list[str], i: int, preposition: str, mention: Mention, parsed: Parsed, memory_last: Mention | None,
            start: int, end: int) -> None:
    """File one noun phrase of the rest of the clause: place, time, clothing, camera or an entity."""
    text = " ".join(tokens[start:end])
    det = tokens[start].lower()
    if det in lx.POSSESSIVES:
        text = "the " + " ".join(tokens[start + 1:end])
    head = mention.key
    if _is_camera(mention):
        parsed.camera = parsed.camera or camera_move(mention.words)
    elif head in TIME_WORDS:
        parsed.time = parsed.time or f"{preposition or 'at'} {text}".strip()
    elif head in CLOTHING | FEATURES and preposition in {"in", "wearing", "with"} and memory_last is not None:
        memory_last.detail = memory_last.detail or f"{preposition} {text}"
    elif (head in PLACE_WORDS or mention.words[-1].lower() in PLACE_WORDS) and not mention.proper \
            or mention.proper and preposition in PLACE_PREPOSITIONS:  # 'in Paris' is a place, not a character
        parsed.place = parsed.place or text
    else:
        mention.oblique = bool(preposition)
        parsed.mentions.append(mention)


def _rest(tokens: list[str], i: int, memory: Memory, parsed: Parsed, verb: str) -> None:
    """Objects, pronouns and prepositional phrases after the verb."""
    preposition = ""
    bare_stop = any(lemma in lx.BARE_INFINITIVE_VERBS for lemma in lx.verb_lemma(verb)) if verb else False
    exclude = {m.key for m in parsed.mentions}
    while i < len(tokens):
        token, low = tokens[i], tokens[i].lower()
        if low in lx.OBJECT_PRONOUNS or low in lx.SUBJECT_PRONOUNS:
            for found in resolve_pronoun(low, memory, exclude if low in lx.OBJECT_PRONOUNS else set()):
                parsed.mentions.append(Mention(found.key, found.words, False, found.proper, found.count))
            i += 1
            continue
        if low in lx.PREPOSITIONS or low == "wearing":
            preposition = low
            i += 1
            continue
        starts_np = low in lx.DETERMINERS or low in lx.POSSESSIVES or low in lx.NUMBERS or token[:1].isupper() \
            or (_word(token) and lx.can_be_noun(low) and not lx.verb_only(low) and low not in lx.CLOSED_CLASS
                and (preposition or lx.is_plural_noun(low) or lx.singular(low) in PLACE_WORDS | TIME_WORDS)
                and not (i and lx.finite_verb(low, False) and lx.can_be_noun(tokens[i - 1])
                         and tokens[i - 1].lower() not in lx.CLOSED_CLASS
                         and not lx.finite_verb(tokens[i - 1], False)))  # not the verb of 'while snow falls'

        if starts_np and _word(token):
            mention, j = noun_phrase(tokens, i, bare_verb_stop=bare_stop)
            if mention is not None:
                last = parsed.mentions[-1] if parsed.mentions else None
                _phrase(tokens, i, preposition, mention, parsed, last, i, j)
                preposition = ""
                i = j
                continue
        if lx.verb_lemma(low) and not lx.can_be_noun(low):
            preposition = ""
        i += 1


def parse_clause(text: str, memory: Memory, continues: bool = False) -> Parsed:
    """Who and what `text` shows, where and when, and any camera words."""
    parsed = Parsed(text=text)
    tokens = tokenize(text)
    # 1. connectives and adverbs before the subject ('then', 'together', 'slowly')
    i = _lead(tokens, 0)
    # 2. camera words that lead the clause: 'the camera pans across', 'a drone shot of'
    i = _lead(tokens, _camera_lead(tokens, i, parsed))
    # 3. the subject; none means the last one ('then sits on the porch')
    subjects, i = _subjects(tokens, i, memory, parsed, continues)
    if not subjects and memory.subjects:
        # 'then sits on the porch': the event is a video prompt of its own, so it names who sits.
        subjects = list(memory.subjects)
        names = " and ".join(("" if m.proper else "the ") + " ".join(m.words) for m in subjects)
        parsed.text = f"{names[:1].upper()}{names[1:]} {parsed.text[:1].lower()}{parsed.text[1:]}"
    parsed.mentions = [Mention(m.key, m.words, True, m.proper, m.count, m.detail) for m in subjects]
    # 4. the verb, then its objects and prepositional phrases
    while i < len(tokens) and (lx.is_adverb_only(tokens[i]) or tokens[i].lower() in lx.AUXILIARIES):
        i += 1
    verb = tokens[i] if i < len(tokens) and lx.verb_lemma(tokens[i]) else ""
    _rest(tokens, i + 1 if verb else i, memory, parsed, verb)
    return parsed


def starts_clause(text: str) -> bool:
    """Whether `text` (a piece after ',' or 'and') is a clause of its own: it has a verb of its own,
    first or after its subject ('carries it outside', 'a ship passes'), not a list item ('pears')."""
    tokens = tokenize(text)
    i = _lead(tokens, 0)
    if i >= len(tokens) or not _word(tokens[i]):
        return False
    low = tokens[i].lower()
    if low in lx.SUBJECT_PRONOUNS:
        j = _lead(tokens, i + 1)
        return j < len(tokens) and bool(lx.verb_lemma(tokens[j]) or tokens[j].lower() in lx.AUXILIARIES)
    if lx.finite_verb(low, False) and (lx.verb_only(low) or i + 1 >= len(tokens) or not lx.can_be_noun(tokens[i + 1])
                                       or tokens[i + 1].lower() in lx.CLOSED_CLASS):
        return True
    mention, j = noun_phrase(tokens, i)
    if mention is None:
        return False
    j = _lead(tokens, j)
    return j < len(tokens) and (lx.finite_verb(tokens[j], mention.count != 1) or tokens[j].lower() in lx.AUXILIARIES)


def has_verb(text: str) -> bool:
    tokens = tokenize(text)
    return any(_word(t) and t.lower() not in lx.CLOSED_CLASS and lx.finite_verb(t, True) or lx.finite_verb(t, False)
               for t in tokens[1:]) or starts_clause(text)
