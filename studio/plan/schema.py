"""The script schema: one JSON Schema for validation, constrained decoding and the UI's tables.

It describes what a planner writes: entities (id, name, appearance) and scenes (title, event, entity
ids, background, camera, length, optional per-chunk prompts, seed). Everything else of a Script
(images, chunks, statuses) is made by later stages, so it is not part of what a planner may say.

Bounds (string lengths, item counts) keep a constrained decoder's output finite and a request small.
"""

from __future__ import annotations

import copy
from typing import Any

from studio.project.model import CAMERA_MOVES, MAX_CHUNKS_PER_SCENE, MAX_ENTITIES, MAX_SCENES, MAX_SEED

MAX_NAME_CHARS = 60
MAX_DESCRIPTION_CHARS = 240
MAX_EVENT_CHARS = 300
MAX_TITLE_CHARS = 80
MAX_BACKGROUND_CHARS = 160

# Entity ids are slugs: they become file names (entities/<id>.png).
ENTITY_ID_PATTERN = "^[a-z0-9][a-z0-9-]{0,39}$"

ENTITY_KINDS = ("character", "object", "background")


def _text(max_chars: int, min_chars: int = 0, description: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "maxLength": max_chars}
    if min_chars:
        schema["minLength"] = min_chars
    if description:
        schema["description"] = description
    return schema


ENTITY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "pattern": ENTITY_ID_PATTERN, "description": "lower-case slug, e.g. red-fox"},
        "name": _text(MAX_NAME_CHARS, 1, "short name, e.g. red fox"),
        "description": _text(MAX_DESCRIPTION_CHARS, 0, "appearance only; becomes the reference image prompt"),
        "kind": {"type": "string", "enum": list(ENTITY_KINDS)},
    },
    "required": ["id", "name", "description"],
    "additionalProperties": False,
}

SCENE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": _text(MAX_TITLE_CHARS, 0, "a few words"),
        "event": _text(MAX_EVENT_CHARS, 1, "what happens, one sentence"),
        "entity_ids": {
            "type": "array",
            "items": {"type": "string", "pattern": ENTITY_ID_PATTERN},
            "maxItems": 8,
            "description": "ids of the entities seen in this scene",
        },
        "background": _text(MAX_BACKGROUND_CHARS, 0, "the place"),
        "camera": {"type": "string", "enum": list(CAMERA_MOVES)},
        "n_chunks": {"type": "integer", "minimum": 1, "maximum": MAX_CHUNKS_PER_SCENE,
                     "description": "length: 1 chunk is 2 seconds, each more adds 1 second"},
        "chunk_prompts": {"type": "array", "items": _text(MAX_EVENT_CHARS), "maxItems": MAX_CHUNKS_PER_SCENE},
        "seed": {"type": "integer", "minimum": 0, "maximum": MAX_SEED},
    },
    "required": ["title", "event", "entity_ids", "background", "camera", "n_chunks"],
    "additionalProperties": False,
}

# Entities come first so that a decoder has named them before the scenes refer to them.
SCRIPT_JSON_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Script",
    "type": "object",
    "properties": {
        "entities": {"type": "array", "items": ENTITY_SCHEMA, "maxItems": MAX_ENTITIES},
        "scenes": {"type": "array", "items": SCENE_SCHEMA, "minItems": 1, "maxItems": MAX_SCENES},
    },
    "required": ["entities", "scenes"],
    "additionalProperties": False,
}


def script_schema(num_scenes: int | None = None, max_entities: int | None = None) -> dict[str, Any]:
    """SCRIPT_JSON_SCHEMA, optionally pinned to `num_scenes` scenes and at most `max_entities` entities."""
    schema = copy.deepcopy(SCRIPT_JSON_SCHEMA)
    if num_scenes is not None:
        schema["properties"]["scenes"]["minItems"] = num_scenes
        schema["properties"]["scenes"]["maxItems"] = num_scenes
    if max_entities is not None:
        schema["properties"]["entities"]["maxItems"] = max_entities
    return schema


def schema_errors(data: Any, schema: dict[str, Any] | None = None, limit: int = 3) -> list[str]:
    """Up to `limit` readable schema violations of `data` ('scenes[1].camera: 'pan' is not one of ...')."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema or SCRIPT_JSON_SCHEMA)
    messages = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))[:limit]:
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
        messages.append(f"{path or 'top level'}: {error.message[:200]}")
    return messages


def describe_schema_for_prompt() -> str:
    """A compact, human-readable description of the schema for a model's instructions."""
    cameras = ", ".join(CAMERA_MOVES)
    return (
        'Answer with one JSON object: {"entities": [...], "scenes": [...]}.\n'
        'Each entity: {"id": lower-case slug like "red-fox", "name": short name, '
        '"description": its appearance only (colours, clothes, size), "kind": "character" or "object"}.\n'
        'Each scene: {"title": a few words, "event": one sentence of what happens, '
        '"entity_ids": ids of the entities in it, "background": the place, '
        f'"camera": one of [{cameras}], "n_chunks": length from 1 to {MAX_CHUNKS_PER_SCENE} '
        "(1 chunk is 2 seconds, each more adds 1 second)}.\n"
        "List every character or object that appears in two or more scenes as one entity and use the same id "
        "in each of those scenes. No text outside the JSON."
    )


def _compact_string_chars(max_new_tokens: int, scenes: int, entities: int) -> int:
    """Characters per string so that the longest answer with this many scenes and entities fits the budget."""
    import json

    camera_chars = max(len(move) for move in CAMERA_MOVES)
    empty_scene = {"title": "", "event": "", "entity_ids": [], "background": "", "camera": "x" * camera_chars,
                   "n_chunks": MAX_CHUNKS_PER_SCENE}
    empty_entity = {"id": "", "name": "", "description": ""}
    punctuation = len(json.dumps({"entities": [empty_entity] * entities, "scenes": [empty_scene] * scenes},
                                 separators=(",", ":")))
    punctuation += scenes * entities * len('"",')  # the quotes and commas of each scene's entity ids
    strings = scenes * (3 + entities) + entities * 3
    return (max_new_tokens - punctuation - 2) // (4 * strings)  # 2: the end-of-text token and a margin


def compact_script_schema(max_new_tokens: int, num_scenes: int | None = None) -> dict[str, Any]:
    """A schema whose longest possible answer fits in `max_new_tokens` tokens, for a retry after a cut-off.

    A token holds at least one byte and a character at most four, so strings get
    (budget left after the JSON punctuation) / (4 x number of strings) characters each. Optional
    fields are left out. It asks for `num_scenes` scenes (else one) and up to two entities, fewer when
    they do not fit (repair then splits scenes up to `num_scenes`).
    """
    wanted = num_scenes or 1
    candidates = [(s, e) for s in range(wanted, 0, -1) for e in (min(2, s), 1, 0) if e <= s]
    for scenes, entities in candidates:
        chars = _compact_string_chars(max_new_tokens, scenes, entities)
        if chars >= 4 or (scenes, entities) == (1, 0) and chars >= 1:
            break
    else:
        from studio.errors import StudioError

        raise StudioError(f"planning.max_new_tokens {max_new_tokens} is too small for even one scene; raise it")
    text = {"type": "string", "maxLength": chars}
    entity_id = {"type": "string", "pattern": f"^[a-z0-9][a-z0-9-]{{0,{max(0, chars - 1)}}}$"}
    entity = {"type": "object", "additionalProperties": False, "required": ["id", "name", "description"],
              "properties": {"id": entity_id, "name": dict(text, minLength=1), "description": text}}
    scene_properties = {
        "title": text, "event": dict(text, minLength=1),
        "entity_ids": {"type": "array", "items": entity_id, "maxItems": entities},
        "background": text, "camera": SCENE_SCHEMA["properties"]["camera"],
        "n_chunks": SCENE_SCHEMA["properties"]["n_chunks"],
    }
    scene = {"type": "object", "additionalProperties": False, "required": list(scene_properties), "properties": scene_properties}
    return {
        "type": "object", "additionalProperties": False, "required": ["entities", "scenes"],
        "properties": {"entities": {"type": "array", "items": entity, "maxItems": entities},
                       "scenes": {"type": "array", "items": scene, "minItems": scenes, "maxItems": scenes}},
    }
