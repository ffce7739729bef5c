"""Reading project.json text that may come from anyone: every way it can be malformed is one ValidationError.

`json.loads` alone lets hostile text through as a traceback: deep nesting (RecursionError, in the parser
or later in a repr), integers over Python's 4,300-digit limit (a bare ValueError) and NaN or Infinity
(which then poison every number field).
"""

from __future__ import annotations

import json
from typing import Any

from studio.errors import ValidationError, first_line

MAX_NESTING = 32  # project.json nests 6 levels deep; deeper input is hostile


def parse_project_json(text: str, where: str) -> Any:
    """Parse project.json text: a ValidationError naming `where` for anything that is not plain, shallow JSON."""
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValidationError(f"{where} nests too deeply; it is not a StreamStudio project") from None
    except ValueError as error:  # JSONDecodeError, integers over 4,300 digits, NaN / Infinity
        raise ValidationError(f"{where} is not valid JSON ({first_line(error, 100)})") from None
    if nesting_depth(data) > MAX_NESTING:
        raise ValidationError(f"{where} nests deeper than {MAX_NESTING} levels; it is not a StreamStudio project")
    return data


def nesting_depth(data: Any) -> int:
    """How deep lists and objects nest in parsed JSON (iterative: no recursion limit to hit)."""
    deepest, pending = 0, [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, (dict, list)):
            deepest = max(deepest, depth)
            if depth > MAX_NESTING:
                break
            children = value.values() if isinstance(value, dict) else value
            pending.extend((child, depth + 1) for child in children)
    return deepest


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a project may hold")
