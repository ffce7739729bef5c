"""Noun phrases: where one starts and ends ('the two tiny robots', 'Alice', 'a loaf of bread').

Parts of speech come from studio.plan.lexicon. A subject's phrase ends at its verb, read from what follows
the word that could be either ('a pilot checks her plane', but 'the grey dog walk along').
"""

from __future__ import annotations

import re

from studio.plan import lexicon as lx
from studio.plan.kinds import CLOTHING, PLACE_WORDS, TIME_WORDS
from studio.plan.pronouns import Mention

# Camera and shot vocabulary: these set the camera or stay in the text as style, never an entity.
CAMERA_WORDS = frozenset({"camera", "shot", "view", "close-up", "closeup", "time-lapse", "timelapse", "footage",
                          "flythrough", "fly-through", "pov", "angle", "panorama", "montage", "clip", "drone",
                          "motion", "zoom", "lens", "frame", "scene", "video", "film", "sequence", "take", "flyover",
                          "aerial", "macro", "tracking", "dolly", "pan", "tilt", "orbit", "handheld", "steadicam"})
TOKEN = re.compile(r"[A-Za-z][A-Za-z'-]*|\d+|[^\sA-Za-z\d]")


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


def _verb_after_subject(tokens: list[str], i: int, words: list[str], plural: bool) -> bool | None:
    """In a subject: is tokens[i] the clause's verb (True), part of the noun phrase (False), or unclear (None)?
    A word that can be a verb agreeing with the subject is the verb when what follows it can only follow a
    verb ('a pilot checks her plane', 'a submarine dives beneath', 'a couple dance slowly'), and part of the
    phrase when a verb follows it ('the grey dog walk', 'the dark woods glow')."""
    low = tokens[i].lower()
    agrees = plural or lx.is_plural_noun(words[-1]) or words[-1].lower() in lx.COLLECTIVE
    if low in CAMERA_WORDS or not lx.finite_verb(low, agrees):
        return None
    after = tokens[i + 1] if i + 1 < len(tokens) else ""
    after_low = after.lower()
    if not _word(after) or after_low in lx.DETERMINERS | lx.POSSESSIVES | lx.OBJECT_PRONOUNS | lx.PREPOSITIONS \
            | lx.PARTICLES | lx.REFLEXIVE or after_low in lx.NUMBERS or lx.is_adverb_only(after):
        return True
    if low.endswith("s") and lx.finite_verb(low, False):
        return None  # 'the dragon breathes fire', 'a barista pours milk': the -s form decides as before
    head_plural = plural or lx.is_plural_noun(low) or low in lx.COLLECTIVE  # if `low` were the head noun
    if after_low not in lx.CLOSED_CLASS and lx.finite_verb(after, head_plural):
        return False  # and a verb agreeing with that head follows: 'the grey dog walk' (not 'students plant trees')
    return None


def _np_word(tokens: list[str], i: int, words: list[str], bare_verb_stop: bool, plural: bool, name: bool,
             subject: bool = False) -> bool:
    """Whether tokens[i] continues the noun phrase `words` (`name`: it is a proper name so far; `subject`: the
    phrase is a clause's subject, so a verb ends it)."""
    token = tokens[i]
    low = token.lower()
    if not _word(token) or low in lx.CLOSED_CLASS or lx.is_adverb_only(low) or len(words) >= 5:
        return False
    if words and name and not token[:1].isupper():
        return False  # 'Alice meets': a name ends at the first lower-case word
    nxt = tokens[i + 1].lower() if i + 1 < len(tokens) else ""
    next_is_noun = bool(nxt) and _word(nxt) and nxt not in lx.CLOSED_CLASS and lx.can_be_noun(nxt)
    verb = _verb_after_subject(tokens, i, words, plural) if subject and words and _noun(words[-1].lower()) else None
    if verb is not None:
        return not verb
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
    after_modifier = lx.can_be_modifier(words[-1]) if words else i > 0 and tokens[i - 1].lower() in lx.DETERMINERS
    if not bare_verb_stop and low in lx.verb_lemma(low) and after_modifier \
            and (not nxt or not _word(nxt) or nxt in lx.CLOSED_CLASS):
        return True  # 'a fallen log', 'the pan': a noun the lexicon knows only as a verb, ending the phrase
    return lx.can_be_modifier(low) and next_is_noun


def noun_phrase(tokens: list[str], i: int, *, bare_verb_stop: bool = False, plural: bool = False,
                subject: bool = False) -> tuple[Mention | None, int]:
    """The noun phrase at `i` ('the two tiny robots', 'Alice', 'kids') and the index after it."""
    start = i
    determined = False
    count: int | None = None
    low = tokens[i].lower() if i < len(tokens) else ""
    if low in lx.DETERMINERS or low in lx.POSSESSIVES:
        determined, i = True, i + 1
        if low in {"a", "an"} and i + 1 < len(tokens) and tokens[i].lower() in {"pair", "couple", "group", "pack",
                                                                                "flock", "herd", "crowd", "team"} \
                and tokens[i + 1].lower() == "of":
            count = 2 if tokens[i].lower() in {"pair", "couple"} else None
            i += 2
    if count is None:
        count, i = _count(tokens, i)
    if count is None and low in ("each", "every", "all"):
        count = 0  # 'each dancer bows': every one of a group
    words: list[str] = []
    while i < len(tokens) and _np_word(tokens, i, words, bare_verb_stop, plural,
                                       not determined and bool(words) and _proper(words[0], start), subject):
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
