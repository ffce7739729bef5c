"""A scene's title: the start of its event, cut only where a phrase ends.

'The old man and his grey dog walk along the beach' -> 'Old man and his grey dog', never 'Old man and
his grey': the cut may not fall inside a noun phrase (read by studio.plan.clauses, the subject up to its
verb), and a title does not end on an article, a preposition or a conjunction.
"""

from __future__ import annotations

import re

from studio.plan import lexicon as lx

MAX_TITLE_WORDS = 6
TAIL_WORDS = frozenset({"a", "an", "the", "in", "on", "at", "to", "of", "and", "with", "into", "over", "through",
                        "across", "his", "her", "its", "their", "my", "our", "your", "as", "for", "from", "by",
                        "while", "then", "who", "which", "that", "about", "but", "or", "so"})


def _phrase_spans(words: list[str]) -> list[tuple[int, int]]:
    """(start, end) of each noun phrase among `words` (the first read as a subject, which ends at its verb)."""
    from studio.plan.phrases import noun_phrase

    tokens = [re.sub(r"[^\w'-]", "", word) or "," for word in words]
    spans, i, subject = [], 0, True
    while i < len(tokens):
        if tokens[i] == ",":
            i += 1
            continue
        mention, j = noun_phrase(tokens, i, subject=subject, plural=subject and bool(spans))
        if mention is not None and j > i:
            spans.append((i, j))
            # 'the old man and his grey dog walk': the subjects joined by 'and' all end at the verb
            subject = subject and j < len(tokens) and tokens[j].lower() == "and"
            i = j + 1 if subject else j
        else:
            subject = False
            i += 1
    return spans


def title_from(event: str, max_chars: int) -> str:
    """The longest start of `event` (up to six words) that ends where a phrase ends."""
    words = re.sub(r"^(a|an|the)\s+", "", event.strip(" ."), flags=re.IGNORECASE).split()
    if not words:
        return ""
    spans = _phrase_spans(words)
    inside = {k for start, end in spans for k in range(start + 1, end)}  # cuts that would split a phrase

    def fits(k: int) -> bool:
        last = words[k - 1].lower().strip(",;:")
        following = words[k].lower() if k < len(words) else ""
        object_cut_off = following in lx.DETERMINERS | lx.POSSESSIVES or following in lx.NUMBERS \
            or bool(following) and following not in lx.CLOSED_CLASS and lx.can_be_noun(following)
        dangling = last in TAIL_WORDS | lx.DETERMINERS or last in lx.PREPOSITIONS and (last not in lx.PARTICLES or object_cut_off)
        return k not in inside and not dangling and len(" ".join(words[:k])) <= max_chars

    clause_end = next((k + 1 for k, word in enumerate(words) if word.endswith((",", ";", ":"))), len(words))
    limit = min(len(words), MAX_TITLE_WORDS, clause_end)  # 'Chef burns the toast', not '..., which smokes'

    cut = next((k for k in range(limit, 0, -1) if fits(k)), None)
    if cut is None:  # a first phrase longer than six words: the whole phrase, as far as the limit allows
        cut = next((end for start, end in spans if start == 0), limit)
    title = " ".join(words[:cut]).rstrip(",;:")
    return (title[:1].upper() + title[1:])[:max_chars]
