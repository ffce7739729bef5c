"""Who a pronoun, a quantifier or a subject-less clause means: the mentions a clause makes, and the memory of
the ones before it.

'she', 'it', 'they' resolve to the last mention that fits; 'both', 'all of them' to the last group; 'one'
and 'the other' (or 'the first', 'the second') to members of the last group: the two people of 'a wolf
and a bear', or two new members of 'two painters' ('first painter', 'second painter').
"""

from __future__ import annotations

from dataclasses import dataclass, field

from studio.plan import lexicon as lx

ORDINALS = {"one": "first", "first": "first", "other": "second", "another": "second", "second": "second",
            "last": "last"}
FLOATING = frozenset({"both", "all", "each", "together"})  # 'they both drink': said of the subject before


@dataclass
class Mention:
    key: str  # the head noun's lemma or the proper name, lower-case: what makes two mentions one entity
    words: list[str]  # the name: modifiers and head, no determiner
    subject: bool
    proper: bool = False
    count: int = 1  # 'two kids' -> 2; a plain plural is 0 (some)
    detail: str = ""  # 'in a blue coat', 'with red hair'
    oblique: bool = False  # after a preposition ('from a merchant'): 'it' means the direct object first
    member_of: str = ""  # 'first painter' is a member of the group keyed 'painter'
    gender: str = ""  # 'female' when the prompt says 'she' or 'her' of it


@dataclass
class Parsed:
    mentions: list[Mention] = field(default_factory=list)
    place: str = ""
    time: str = ""
    camera: str | None = None
    text: str = ""  # the clause with a leading pronoun resolved
    verbs: list[str] = field(default_factory=list)  # the main verb first, then those of other clauses in it
    particle: str = ""  # 'climbs down', 'takes off'
    place_is_object: bool = False  # the place is the verb's object ('waters the garden'), not where it happens


@dataclass
class Memory:
    """What a pronoun or a subject-less clause can refer back to."""

    subjects: list[Mention] = field(default_factory=list)
    last_clause: list[Mention] = field(default_factory=list)
    seen: list[Mention] = field(default_factory=list)

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


def quantifier_subject(tokens: list[str], i: int) -> tuple[str, int]:
    """A quantifier standing for a subject ('one spills', 'the other finishes', 'both laugh', 'all of them
    leave', 'everyone buys'): ('first' | 'second' | 'last' | 'group' | 'nobody', index after it), or ('', i)."""
    j = i
    low = tokens[j].lower() if j < len(tokens) else ""
    if low == "the" and j + 1 < len(tokens) and tokens[j + 1].lower() in {"other", "others", "first", "second", "last"}:
        j, low = j + 1, tokens[j + 1].lower()
    if low in lx.INDEFINITE_PRONOUNS:
        return "nobody", j + 1
    if low not in lx.QUANTIFIERS:
        return "", i
    after = j + 1
    if after + 1 < len(tokens) and tokens[after].lower() == "of" and tokens[after + 1].lower() in {"them", "us", "you"}:
        after += 2  # 'one of them', 'all of them'
    nxt = tokens[after] if after < len(tokens) else ""
    if after == j + 1:  # no 'of them': the next word must be a verb agreeing with it ('one spills', 'both laugh'),
        # not the noun of 'one dog' or 'both brothers'
        singular_word = low in ("one", "other", "another", "first", "second", "last", "each", "either", "neither")
        if not nxt or not (nxt.lower() in lx.AUXILIARIES or lx.is_adverb_only(nxt)
                           or lx.finite_verb(nxt, not singular_word) and nxt.lower() not in lx.CLOSED_CLASS):
            return "", i
    role = "second" if low in ("others",) else ORDINALS.get(low, "group")
    return role, after


def resolve_quantifier(role: str, memory: Memory) -> list[Mention]:
    """The mentions a quantifier subject stands for (see quantifier_subject)."""
    if role == "nobody":
        return []
    group = memory.subjects if len(memory.subjects) > 1 or any(m.count != 1 for m in memory.subjects) else \
        [m for m in reversed(memory.seen) if m.subject and m.count != 1][:1]
    group = [m for m in group if not m.member_of]
    if role == "group" or not group:
        return list(group)
    if len(group) > 1:  # 'a wolf and a bear ...; one ...': the one named first
        return [group[0] if role == "first" else group[-1] if role == "last" else group[1]]
    return [member(group[0], role)]


def member(whole: Mention, role: str) -> Mention:
    """One member of a group: 'two old friends' -> 'first old friend'."""
    head = [w for w in whole.words[:-1]] + [lx.singular(whole.words[-1])]
    return Mention(key=f"{role} {whole.key}", words=[role, *head], subject=True, count=1, detail=whole.detail,
                   member_of=whole.key)

