"""Parts of speech for the rules planner, from lemminflect's English lexicon (no model download).

lemminflect maps a word to the lemmas it can be the form of, per universal POS tag ('waters' ->
NOUN water, VERB water), and a lemma to its inflections ('water' -> VBZ 'waters'). That answers
the questions the clause parser asks: can this word be a noun, an adjective, an adverb; is it a
finite verb form that agrees with the subject. Only closed word classes are listed here by hand.
"""

from __future__ import annotations

import re
from functools import lru_cache

DETERMINERS = frozenset({"a", "an", "the", "this", "that", "these", "those", "some", "several", "another", "each",
                         "every", "many", "few", "both", "all"})
POSSESSIVES = frozenset({"his", "her", "its", "their", "my", "our", "your"})
NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
           "ten": 10, "twelve": 12, "dozen": 12, "a pair of": 2, "a couple of": 2}
SUBJECT_PRONOUNS = frozenset({"he", "she", "it", "they", "we", "i", "you"})
OBJECT_PRONOUNS = frozenset({"him", "her", "it", "them", "us", "me"})
PERSON_PRONOUNS = frozenset({"he", "she", "him", "her"})
PLURAL_PRONOUNS = frozenset({"they", "them"})
REFLEXIVE = frozenset({"himself", "herself", "itself", "themselves"})
PREPOSITIONS = frozenset({
    "in", "on", "at", "to", "into", "onto", "from", "with", "without", "through", "across", "over", "under", "near",
    "along", "beside", "by", "behind", "toward", "towards", "around", "inside", "outside", "above", "below", "past",
    "of", "for", "among", "between", "beneath", "underneath", "within", "amid", "upon", "against", "beyond",
    "during", "after", "before", "like", "down", "up", "off", "out", "about", "via", "throughout",
})
CONJUNCTIONS = frozenset({"and", "or", "but", "nor", "so", "yet", "while", "as", "when", "until", "because",
                          "before", "after", "where", "whereas", "although", "though", "if", "once"})
AUXILIARIES = frozenset({"is", "are", "was", "were", "be", "been", "being", "am", "has", "have", "had", "will",
                         "can", "could", "would", "should", "may", "might", "must", "does", "do", "did", "gets",
                         "get", "starts", "start", "begins", "begin", "keeps", "keep"})
PARTICLES = frozenset({"up", "down", "out", "off", "away", "back", "over", "around", "along", "about", "in", "on"})
# Verbs of perception and causation take a bare infinitive after their object ('watch the sun rise').
BARE_INFINITIVE_VERBS = frozenset({"watch", "see", "hear", "feel", "let", "make", "help", "notice", "have"})
# Words that stand for members of a group already named ('one ... the other', 'both', 'all of them').
QUANTIFIERS = frozenset({"all", "both", "each", "one", "none", "some", "several", "many", "few", "either",
                         "neither", "other", "others", "another", "first", "second", "last"})
INDEFINITE_PRONOUNS = frozenset({"everyone", "everybody", "someone", "somebody", "nobody", "anyone", "anybody",
                                 "everything", "something", "nothing", "anything", "noone"})
RELATIVE_PRONOUNS = frozenset({"who", "which", "that", "whom", "whose"})
# Collective nouns take a plural verb too ('an elderly couple dance').
COLLECTIVE = frozenset({"couple", "family", "team", "crowd", "group", "pair", "band", "crew", "herd", "flock",
                        "class", "audience", "pack", "staff", "police", "choir", "orchestra", "army", "gang"})
CLOSED_CLASS = (DETERMINERS | POSSESSIVES | SUBJECT_PRONOUNS | OBJECT_PRONOUNS | REFLEXIVE | PREPOSITIONS
                | CONJUNCTIONS | AUXILIARIES | INDEFINITE_PRONOUNS | RELATIVE_PRONOUNS
                | {"then", "there", "here", "what", "not", "no", "very", "other", "others", "each", "none",
                   "either", "neither", "goodbye", "hello", "farewell", "thanks", "yes"})


@lru_cache(maxsize=8192)
def lemmas(word: str) -> dict[str, tuple[str, ...]]:
    """{POS: lemmas} for `word` as the lexicon knows it ({} for a word it has never seen)."""
    import lemminflect

    low = word.lower()
    found = dict(lemminflect.getAllLemmas(low))
    if not found and "-" in low:  # 'snow-covered', 'time-lapse': the last part decides
        found = dict(lemminflect.getAllLemmas(low.rsplit("-", 1)[1]))
        if found.get("VERB") and low.rsplit("-", 1)[1].endswith(("ed", "en")):
            found = {"ADJ": (low,)}
    return found


def tags(word: str) -> frozenset[str]:
    """The parts of speech `word` can have; an unknown word is a noun (names, coinages)."""
    low = word.lower()
    if low in CLOSED_CLASS or low in NUMBERS:
        return frozenset({"CLOSED"})
    if not re.fullmatch(r"[a-z][a-z'-]*", low):
        return frozenset()
    found = set(lemmas(low)) - {"AUX"}
    return frozenset(found or {"NOUN"})


def can_be_noun(word: str) -> bool:
    return bool(tags(word) & {"NOUN", "PROPN"})


def can_be_modifier(word: str) -> bool:
    """A word that may stand before a head noun: an adjective, a noun, or a participle ('frozen', 'glowing')."""
    found = tags(word)
    return bool(found & {"ADJ", "NOUN", "PROPN"}) or (
        "VERB" in found and word.lower().endswith(("ed", "en", "ing", "lit")) and "ADV" not in found)


def is_adverb_only(word: str) -> bool:
    """An adverb that is never a noun or adjective ('slowly', 'together', 'safely')."""
    found = tags(word)
    return "ADV" in found and not found & {"NOUN", "ADJ", "PROPN"}


def is_verb_form(word: str) -> bool:
    """True when `word` can be an inflected verb ('carries', 'buys', 'meets', 'built', 'running')."""
    return bool(verb_lemma(word)) and word.lower() not in {lemma for lemma in verb_lemma(word)}


@lru_cache(maxsize=8192)
def verb_lemma(word: str) -> tuple[str, ...]:
    """The verb lemmas `word` is a form of (() when it is never a verb)."""
    return tuple(lemmas(word.lower()).get("VERB", ()))


@lru_cache(maxsize=8192)
def finite_verb(word: str, plural_subject: bool) -> bool:
    """Whether `word` can be the main verb after a subject: 3rd-person -s (singular), past, or the bare
    form after a plural subject ('the fox runs', 'the kids build', 'the ship passed')."""
    import lemminflect

    low = word.lower()
    for lemma in verb_lemma(low):
        forms = {tag: set(lemminflect.getInflection(lemma, tag)) for tag in ("VBZ", "VBD", "VBP")}
        if low in forms["VBD"] or low in (forms["VBP"] if plural_subject else forms["VBZ"]):
            return True
    return False


def verb_only(word: str) -> bool:
    """A word that is a verb and nothing that can sit in a noun phrase ('carries', 'sits', 'explores')."""
    found = tags(word)
    return "VERB" in found and not found & {"NOUN", "ADJ", "PROPN"} and not can_be_modifier(word)


def singular(word: str) -> str:
    """The noun's lemma ('kids' -> 'kid', 'mountains' -> 'mountain'); the word itself when unknown."""
    low = word.lower()
    nouns = lemmas(low).get("NOUN", ())
    return nouns[0].lower() if nouns else low


def is_plural_noun(word: str) -> bool:
    low = word.lower()
    return low.endswith("s") and singular(low) != low or low in {"people", "children", "men", "women", "mice", "geese"}


def plural_noun(word: str) -> str:
    """'dancer' -> 'dancers', 'child' -> 'children' (the word itself when the lexicon has no plural)."""
    import lemminflect

    forms = lemminflect.getInflection(singular(word), "NNS")
    return forms[0] if forms else word
