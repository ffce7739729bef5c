"""One clause -> who is in it and where: subject, verb, objects, place, time and camera words.

The parser reads a clause as [camera words] [time] [subjects joined by 'and'] [relative clause] [verb]
[objects, relative clauses and prepositional phrases], with parts of speech from studio.plan.lexicon. A
clause with no subject takes the last one; pronouns and quantifiers ('one', 'the other', 'both') resolve
through studio.plan.pronouns; 'two kids' is one entity with a count. A relative clause ('who sleeps on
the sofa') adds its objects and places to the scene, never its verb.
"""

from __future__ import annotations

import re

from studio.plan import kinds
from studio.plan import lexicon as lx
from studio.plan.camera import map_camera
from studio.plan.kinds import CELESTIAL, CLOTHING, FEATURES, PLACE_WORDS, TIME_WORDS
from studio.plan.phrases import CAMERA_WORDS, _word, noun_phrase, tokenize
from studio.plan.pronouns import (FLOATING, Memory, Mention, Parsed, quantifier_subject, resolve_pronoun,
                                  resolve_quantifier)

# Camera words that name a move by themselves.
CAMERA_EXTRA = {"drone": "tracking", "flythrough": "dolly in", "fly-through": "dolly in", "flyover": "tracking",
                "overhead": "tilt down", "bird's-eye": "tilt down", "aerial": "tilt down", "wide": "static",
                "establishing": "pan right"}
PLACE_PREPOSITIONS = frozenset({"in", "into", "inside", "at", "through", "across", "along", "within", "throughout",
                                "around", "over", "above", "under", "beneath", "near", "by", "on", "onto", "to",
                                "toward", "towards", "beside", "behind", "past", "outside", "among", "amid",
                                "down", "up", "from", "beyond"})
LEAD_WORDS = frozenset({"then", "and", "so", "later", "finally", "next", "afterwards", "eventually", "meanwhile",
                        "suddenly", "together", "soon", "now", "also", "again"})


def _is_camera(mention: Mention) -> bool:
    return any(w.lower() in CAMERA_WORDS for w in mention.words)


def camera_move(words: list[str]) -> str | None:
    """The camera move that camera words name ('pans' -> pan right, 'drone shot' -> tracking)."""
    lowered = [w.lower() for w in words]
    lemmatised = " ".join(lx.verb_lemma(w)[0] if w.endswith(("s", "ing", "ed")) and lx.is_verb_form(w) else w
                          for w in lowered)  # 'pans' -> 'pan', never 'left' -> 'leave'

    return map_camera(lemmatised) or next((CAMERA_EXTRA[w] for w in lowered if w in CAMERA_EXTRA), None)


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


def plural(subjects: list[Mention]) -> bool:
    """Whether these subjects take a plural verb ('a boy and his grandfather', 'two kids', 'a couple')."""
    return len(subjects) > 1 or any(m.count != 1 or m.key in lx.COLLECTIVE for m in subjects)


def _finite(word: str, plural_subject: bool) -> bool:
    return lx.finite_verb(word, False) or plural_subject and lx.finite_verb(word, True)


def _verb_led(tokens: list[str], i: int, continues: bool, plural_subject: bool = False) -> bool:
    """'Lights the lamp', 'Falls asleep': a clause that opens on its verb (not 'Kids build', 'Bob steals').
    `continues`: the clause goes on a sentence ('..., and then rides home'), where a verb is what comes;
    after a plural subject the bare form counts ('..., cook the catch on the shore')."""
    if i >= len(tokens) or not _word(tokens[i]) or not _finite(tokens[i], plural_subject and continues):
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


def _named(mentions: list[Mention]) -> str:
    names = " and ".join(("" if m.proper else "the ") + " ".join(m.words) for m in mentions)
    return names[:1].upper() + names[1:]


QUANTIFIER_LEAD = re.compile(r"^\s*(?:the\s+)?(?:one|other|others|another|first|second|last|both|all|each)"
                             r"(?:\s+of\s+(?:them|us))?\b", re.IGNORECASE)


def _time_lead(tokens: list[str], i: int, parsed: Parsed) -> int:
    """'Every morning the baker opens ...': a time before the subject sets the time, and is no one."""
    mention, j = noun_phrase(tokens, i)
    if mention is None or mention.key not in TIME_WORDS or j >= len(tokens) or lx.verb_lemma(tokens[j]) \
            and tokens[j].lower() not in lx.CLOSED_CLASS:
        return i
    parsed.time = " ".join(tokens[i:j]).lower()
    return _lead(tokens, j)


def _subjects(tokens: list[str], i: int, memory: Memory, parsed: Parsed,
              continues: bool) -> tuple[list[Mention], int, bool]:
    """The clause's subjects, the index after them, and whether the clause names its subject at all
    ('everyone buys bread' does, though it is no one to draw)."""
    subjects: list[Mention] = []
    if memory.subjects and _verb_led(tokens, i, continues, plural(memory.subjects)):
        return subjects, i, False  # with no one to carry over, read a subject
    i = _time_lead(tokens, i, parsed)
    given = False
    while i < len(tokens):
        low = tokens[i].lower()
        role, j = quantifier_subject(tokens, i)
        if role:  # 'one', 'the other', 'both', 'all of them', 'everyone'
            found = resolve_quantifier(role, memory)
            subjects.extend(found)
            given = True
            if found and QUANTIFIER_LEAD.match(parsed.text) and role != "nobody":
                parsed.text = _named(found) + parsed.text[QUANTIFIER_LEAD.match(parsed.text).end():]
            i = j
        elif low in lx.SUBJECT_PRONOUNS:
            found = resolve_pronoun(low, memory, set())
            subjects.extend(found)
            given = True
            if low in ("she", "he"):
                _set_gender(found, "female" if low == "she" else "male")
            if i == 0 and found:
                parsed.text = _named(found) + parsed.text[len(tokens[0]):]
            i += 1
            while i < len(tokens) and tokens[i].lower() in FLOATING:  # 'they both drink'
                i += 1
        else:
            mention, j = noun_phrase(tokens, i, plural=bool(subjects), subject=True)
            if mention is None or _is_camera(mention):
                break
            j = _clothing(tokens, j, mention)
            if mention.key in PLACE_WORDS and mention.key not in CELESTIAL and not mention.proper:
                break  # 'the forest glows': a place, not a character
            subjects.append(mention)
            given = True
            i = j
        if i < len(tokens) and tokens[i].lower() == "and" and i + 1 < len(tokens) and _word(tokens[i + 1]):
            i += 1
            continue
        break
    return subjects, i, given


def _set_gender(mentions: list[Mention], gender: str) -> None:
    """'she', 'her': a person the noun leaves open ('pilot', 'Nora') is drawn as the prompt says."""
    for mention in mentions[:1]:
        if not mention.gender and not kinds.gender(mention.words) and (
                mention.proper or kinds.noun_kind(mention.words) == "person"):
            mention.gender = gender


def _relative(tokens: list[str], i: int, memory: Memory, parsed: Parsed, plural_subject: bool) -> int:
    """'who sells flowers' after the subject: its verb is no one, its objects join the scene. Returns the
    index of the main verb: the first verb agreeing with the subject with nothing noun-like after it."""
    j = i + 1
    while j < len(tokens) and (lx.is_adverb_only(tokens[j]) or tokens[j].lower() in lx.AUXILIARIES):
        j += 1
    if j >= len(tokens) or not lx.verb_lemma(tokens[j]):
        return i
    parsed.verbs.append(tokens[j])
    end = j + 1
    while end < len(tokens):
        after = tokens[end + 1].lower() if end + 1 < len(tokens) else ""
        if _word(tokens[end]) and tokens[end].lower() not in lx.CLOSED_CLASS and _finite(tokens[end], plural_subject) \
                and (not after or not _word(after) or after in lx.CLOSED_CLASS or lx.is_adverb_only(after)):
            break
        end += 1
    _rest(tokens[:end], j + 1, memory, parsed, "")
    return end


def _phrase(tokens: list[str], i: int, preposition: str, mention: Mention, parsed: Parsed, memory_last: Mention | None,
            start: int, end: int) -> None:
    """File one noun phrase of the rest of the clause: place, time, clothing, camera or an entity."""
    text = " ".join(tokens[start:end])
    det = tokens[start].lower()
    if det in lx.POSSESSIVES:
        text = "the " + " ".join(tokens[start + 1:end])
    head = mention.key
    held = preposition in {"in", "into", "on", "onto", "from", "with"} and det in lx.DETERMINERS \
        and mention.words[-1].lower() not in {"shot", "view", "camera", "footage", "frame", "angle", "lens"}
    if _is_camera(mention) and not held:  # 'in a tracking shot' directs the camera; 'in the pan' is a thing
        parsed.camera = parsed.camera or camera_move(mention.words)
    elif head in TIME_WORDS:
        parsed.time = parsed.time or f"{preposition or 'at'} {text}".strip()
    elif head in CLOTHING | FEATURES and preposition in {"in", "wearing", "with"} and memory_last is not None:
        memory_last.detail = memory_last.detail or f"{preposition} {text}"
    elif (head in PLACE_WORDS or mention.words[-1].lower() in PLACE_WORDS) and not mention.proper \
            and (head not in CELESTIAL or preposition in {"on", "onto", "to", "from"}) \
            or mention.proper and preposition in PLACE_PREPOSITIONS:  # 'in Paris' is a place, not a character
        if not parsed.place or preposition and parsed.place_is_object:  # 'splashes water ... in the river'
            parsed.place, parsed.place_is_object = text, not preposition
    else:
        mention.oblique = bool(preposition)
        parsed.mentions.append(mention)


def _rest(tokens: list[str], i: int, memory: Memory, parsed: Parsed, verb: str) -> None:
    """Objects, pronouns and prepositional phrases after the verb."""
    preposition = ""
    first = i  # the word right after the verb: a bare noun there is its object ('buys bread')
    bare_stop = any(lemma in lx.BARE_INFINITIVE_VERBS for lemma in lx.verb_lemma(verb)) if verb else False
    exclude = {m.key for m in parsed.mentions}
    while i < len(tokens):
        token, low = tokens[i], tokens[i].lower()
        possessive = low == "her" and i + 1 < len(tokens) and _word(tokens[i + 1]) \
            and tokens[i + 1].lower() not in lx.CLOSED_CLASS and lx.can_be_modifier(tokens[i + 1])
        if (low in lx.OBJECT_PRONOUNS or low in lx.SUBJECT_PRONOUNS) and not possessive:
            for found in resolve_pronoun(low, memory, exclude if low in lx.OBJECT_PRONOUNS else set()):
                parsed.mentions.append(Mention(found.key, found.words, False, found.proper, found.count))
            i += 1
            continue
        if low in {"who", "which", "whom"} or low == "that" and i + 1 < len(tokens) and lx.finite_verb(tokens[i + 1], False):
            i += 1  # 'a woman who paints the harbor': the relative clause's verb is no one
            while i < len(tokens) and (lx.is_adverb_only(tokens[i]) or tokens[i].lower() in lx.AUXILIARIES):
                i += 1
            if i < len(tokens) and lx.verb_lemma(tokens[i]):
                parsed.verbs.append(tokens[i])
                i += 1
            preposition = ""
            continue
        if low in ("her", "his") and parsed.mentions and parsed.mentions[0].subject:
            _set_gender(parsed.mentions[:1], "female" if low == "her" else "male")
        if low in lx.PREPOSITIONS or low == "wearing":
            preposition = low
            i += 1
            continue
        starts_np = low in lx.DETERMINERS or low in lx.POSSESSIVES or low in lx.NUMBERS or token[:1].isupper() \
            or (_word(token) and lx.can_be_noun(low) and not lx.verb_only(low) and low not in lx.CLOSED_CLASS
                and (preposition or lx.is_plural_noun(low) or lx.singular(low) in PLACE_WORDS | TIME_WORDS
                     or verb and i == first and lx.tags(low) == {"NOUN"})
                and not (i > first and lx.finite_verb(low, False) and lx.can_be_noun(tokens[i - 1])
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
        if lx.finite_verb(low, True) or lx.finite_verb(low, False):
            parsed.verbs.append(token)
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
    subjects, i, given = _subjects(tokens, i, memory, parsed, continues)
    if not given and memory.subjects:
        # 'then sits on the porch': the event is a video prompt of its own, so it names who sits.
        subjects = list(memory.subjects)
        parsed.text = f"{_named(subjects)} {parsed.text[:1].lower()}{parsed.text[1:]}"
    for index, token in enumerate(tokens[:i]):  # 'the farmer and her son': her is the farmer
        if token.lower() in ("her", "his") and index and subjects:
            _set_gender(subjects[:1], "female" if token.lower() == "her" else "male")
    parsed.mentions = [Mention(m.key, m.words, True, m.proper, m.count, m.detail, member_of=m.member_of,
                               gender=m.gender) for m in subjects]
    # 4. a relative clause on the subject ('the girl who sells flowers waves ...'), the verb, then its objects
    if i < len(tokens) and tokens[i].lower() in lx.RELATIVE_PRONOUNS and subjects:
        i = _relative(tokens, i, memory, parsed, plural(subjects))
    while i < len(tokens) and (lx.is_adverb_only(tokens[i]) or tokens[i].lower() in lx.AUXILIARIES):
        i += 1
    verb = tokens[i] if i < len(tokens) and lx.verb_lemma(tokens[i]) else ""
    if verb:
        parsed.verbs.insert(0, verb)
        particle = tokens[i + 1].lower() if i + 1 < len(tokens) else ""
        parsed.particle = particle if particle in lx.PARTICLES else ""
    _rest(tokens, i + 1 if verb else i, memory, parsed, verb)
    return parsed


def starts_clause(text: str, plural_subject: bool = False) -> bool:
    """Whether `text` (a piece after ',' or 'and') is a clause of its own: it has a verb of its own,
    first or after its subject ('carries it outside', 'a ship passes', 'one spills the paint'), not a list
    item ('pears'). After a plural subject a bare verb with words after it counts ('cook the catch')."""
    tokens = tokenize(text)
    i = _lead(tokens, 0)
    if i >= len(tokens) or not _word(tokens[i]):
        return False
    low = tokens[i].lower()
    role, j = quantifier_subject(tokens, i)
    if low in lx.SUBJECT_PRONOUNS or role:
        j = _lead(tokens, i + 1 if not role else j)
        while j < len(tokens) and tokens[j].lower() in FLOATING:
            j += 1
        return j < len(tokens) and bool(lx.verb_lemma(tokens[j]) or tokens[j].lower() in lx.AUXILIARIES)
    bare = lx.finite_verb(low, False) or plural_subject and lx.finite_verb(low, True) and i + 1 < len(tokens)
    if bare and (lx.verb_only(low) or i + 1 >= len(tokens) or not lx.can_be_noun(tokens[i + 1])
                 or tokens[i + 1].lower() in lx.CLOSED_CLASS):
        return True
    mention, j = noun_phrase(tokens, i, subject=True)
    j = _lead(tokens, j)
    if mention is not None and j < len(tokens) and (_finite(tokens[j], plural([mention]))
                                                    or tokens[j].lower() in lx.AUXILIARIES):
        return True
    # read as a noun phrase it has no verb: after a plural subject, a bare verb with words after it leads
    # a clause ('float back to the ship', 'wave goodbye at the gate')
    return plural_subject and low in lx.verb_lemma(low) and i + 1 < len(tokens)


def verb_first(text: str, plural_subject: bool) -> bool:
    """Whether the clause opens on its verb and so keeps the subject before it ('cook the catch', 'then rides')."""
    tokens = tokenize(text)
    i = _lead(tokens, 0)
    return i < len(tokens) and _word(tokens[i]) and tokens[i].lower() not in lx.CLOSED_CLASS \
        and _finite(tokens[i], plural_subject) and not quantifier_subject(tokens, i)[0]


def subject_plural(text: str) -> bool:
    """Whether the clause's subject takes a plural verb ('A boy and his grandfather fish ...')."""
    tokens = tokenize(text)
    i = _lead(tokens, 0)
    if i < len(tokens) and tokens[i].lower() in ("they", "we"):
        return True
    mention, j = noun_phrase(tokens, i, subject=True) if i < len(tokens) else (None, i)
    if mention is None:
        return False
    if plural([mention]):
        return True
    return j + 1 < len(tokens) and tokens[j].lower() == "and" and \
        noun_phrase(tokens, j + 1, plural=True, subject=True)[0] is not None


def has_verb(text: str, plural_subject: bool = False) -> bool:
    tokens = tokenize(text)
    return any(_word(t) and t.lower() not in lx.CLOSED_CLASS and lx.finite_verb(t, True) or lx.finite_verb(t, False)
               for t in tokens[1:]) or starts_clause(text, plural_subject)
