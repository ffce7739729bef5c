"""Pure converters between a Script and the rows of the UI's two editable tables.

The scenes table names entities by name (comma-separated), the way a person reads them; chunk
prompts are joined with ' | '. Rows may come from a gradio Dataframe: strings, floats like 4.0, None
and empty strings; fully empty rows are skipped. What the tables do not show (chunks, images, seeds,
statuses) is kept from `previous`; a scene or entity whose content changed has its made work marked
for redoing (chunks 'stale', reference 'pending'). Errors name the row and the column.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from studio.errors import ValidationError
from studio.plan.repair import map_camera, stable_seed
from studio.plan.schema import (
    ENTITY_KINDS,
    MAX_BACKGROUND_CHARS,
    MAX_DESCRIPTION_CHARS,
    MAX_EVENT_CHARS,
    MAX_NAME_CHARS,
    MAX_TITLE_CHARS,
)
from studio.project.model import (
    CAMERA_MOVES,
    MAX_CHUNKS_PER_SCENE,
    MAX_ENTITIES,
    MAX_SCENES,
    Entity,
    Scene,
    Script,
    slugify,
    unique_id,
    validate_script,
)
from studio.project.paths import validate_id

SCENE_COLUMNS = ["id", "title", "event", "entities", "background", "camera", "chunks", "chunk prompts"]
ENTITY_COLUMNS = ["id", "name", "description", "kind"]
CHUNK_PROMPT_SEPARATOR = " | "
DEFAULT_CHUNKS = 4


def script_to_rows(script: Script) -> tuple[list[list], list[list]]:
    """(scene rows, entity rows) in SCENE_COLUMNS / ENTITY_COLUMNS order."""
    names = {entity.id: entity.name for entity in script.entities}
    scene_rows = [
        [scene.id, scene.title, scene.event, ", ".join(names.get(e, e) for e in scene.entity_ids), scene.background,
         scene.camera, scene.n_chunks, CHUNK_PROMPT_SEPARATOR.join(scene.chunk_prompts)]
        for scene in script.scenes
    ]
    entity_rows = [[entity.id, entity.name, entity.description, entity.kind] for entity in script.entities]
    return scene_rows, entity_rows


# ----------------------------------------------------------------------------- cells


def _where(table: str, row: int, column: str) -> str:
    return f"{table} row {row}, column {column!r}"


def _cell_text(value: Any, where: str, limit: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = " ".join(str(value).split())
    if len(text) > limit:
        raise ValidationError(f"{where}: {len(text)} characters; the limit is {limit}")
    return text


def _cell_chunks(value: Any, where: str, default: int) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    number: float | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:  # an int too large for a float is out of range all the same
            number = None
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except (ValueError, OverflowError):
            number = None
    if number is None or not math.isfinite(number) or not number.is_integer() or not 1 <= number <= MAX_CHUNKS_PER_SCENE:
        raise ValidationError(f"{where}: {str(value)[:40]!r} is not a whole number between 1 and {MAX_CHUNKS_PER_SCENE}")
    return int(number)


def _is_empty_row(row: Any) -> bool:
    return all(_cell_text(cell, "", 10**9) == "" for cell in (row or []))


def _cells(row: Any, columns: list[str], table: str, number: int) -> dict[str, Any]:
    if not isinstance(row, (list, tuple)):
        raise ValidationError(f"{table} row {number} must be a list of {len(columns)} cells, got {type(row).__name__}")
    row = list(row)
    if len(row) < len(columns):  # padding would blank the missing columns: a saved title or prompt lost unseen
        missing = ", ".join(repr(name) for name in columns[len(row):])
        raise ValidationError(f"{table} row {number} has {len(row)} of {len(columns)} cells (missing {missing}); "
                              f"give every column, empty text for a blank cell")
    return dict(zip(columns, row[:len(columns)]))


# ----------------------------------------------------------------------------- entities


def _entities_from_rows(entity_rows: list, previous: Script | None) -> list[Entity]:
    old = {e.id: e for e in (previous.entities if previous else [])}
    entities: list[Entity] = []
    taken_names: dict[str, int] = {}
    number = 0
    for row in entity_rows or []:
        number += 1
        if _is_empty_row(row):
            continue
        cells = _cells(row, ENTITY_COLUMNS, "entities", number)
        at = lambda column: _where("entities", number, column)  # noqa: E731
        name = _cell_text(cells["name"], at("name"), MAX_NAME_CHARS)
        if not name:
            raise ValidationError(f"{at('name')}: is empty; give the entity a name")
        if "," in name:
            raise ValidationError(f"{at('name')}: {name!r} has a comma; names can't (the scenes table lists them comma-separated)")
        if name.lower() in taken_names:
            raise ValidationError(f"{at('name')}: {name!r} is also the name in row {taken_names[name.lower()]}; names must differ")
        taken_names[name.lower()] = number
        entity_id = _cell_text(cells["id"], at("id"), 64) or unique_id(slugify(name, fallback="entity"), {e.id for e in entities})
        try:
            validate_id(entity_id, at("id"))
        except ValidationError:
            raise ValidationError(f"{at('id')}: {entity_id!r} is not a valid id; use letters, digits, '-' or '_'") from None
        if any(e.id == entity_id for e in entities):
            raise ValidationError(f"{at('id')}: {entity_id!r} is used by another entity; ids must differ")
        kind = _cell_text(cells["kind"], at("kind"), 20).lower() or "character"
        if kind not in ENTITY_KINDS:
            raise ValidationError(f"{at('kind')}: {kind!r} is not one of {', '.join(ENTITY_KINDS)}")
        description = _cell_text(cells["description"], at("description"), MAX_DESCRIPTION_CHARS)
        if len(entities) >= MAX_ENTITIES:
            raise ValidationError(f"entities row {number}: a script has at most {MAX_ENTITIES} entities")
        entity = Entity(id=entity_id, name=name, description=description, kind=kind)
        before = old.get(entity_id)
        if before is not None:  # keep what the table does not show; a changed look needs a new reference
            unchanged = (before.name, before.description, before.kind) == (name, description, kind)
            entity = dataclasses.replace(before, name=name, description=description, kind=kind,
                                         status=before.status if unchanged else "pending")
        else:
            entity.seed = stable_seed(previous.prompt if previous else "", "entity", entity_id)
        entities.append(entity)
    return entities


# ----------------------------------------------------------------------------- scenes


def _scene_from_row(cells: dict[str, Any], number: int, entities: list[Entity], taken: set[str]) -> Scene:
    at = lambda column: _where("scenes", number, column)  # noqa: E731
    event = _cell_text(cells["event"], at("event"), MAX_EVENT_CHARS)
    if not event:
        raise ValidationError(f"{at('event')}: is empty; describe what happens in the scene")
    scene_id = _cell_text(cells["id"], at("id"), 64) or unique_id(f"scene-{number}", taken)
    try:
        validate_id(scene_id, at("id"))
    except ValidationError:
        raise ValidationError(f"{at('id')}: {scene_id!r} is not a valid id; use letters, digits, '-' or '_'") from None
    if scene_id in taken:
        raise ValidationError(f"{at('id')}: {scene_id!r} is used by another scene; ids must differ")
    by_name = {e.name.lower(): e.id for e in entities} | {e.id.lower(): e.id for e in entities}
    entity_ids: list[str] = []
    for name in _cell_text(cells["entities"], at("entities"), 2000).split(","):
        name = name.strip()
        if not name:
            continue
        if name.lower() not in by_name:
            known = ", ".join(e.name for e in entities) or "none yet"
            raise ValidationError(f"{at('entities')}: {name!r} is not in the entities table (known: {known}); add it there first")
        if by_name[name.lower()] not in entity_ids:
            entity_ids.append(by_name[name.lower()])
    camera_text = _cell_text(cells["camera"], at("camera"), 60) or "static"
    camera = map_camera(camera_text)
    if camera is None:
        raise ValidationError(f"{at('camera')}: {camera_text!r} is not a camera move; use one of {', '.join(CAMERA_MOVES)}")
    prompts_text = _cell_text(cells["chunk prompts"], at("chunk prompts"), MAX_EVENT_CHARS * MAX_CHUNKS_PER_SCENE)
    chunk_prompts = [p.strip() for p in prompts_text.split("|")] if prompts_text.strip(" |") else []
    return Scene(id=scene_id, title=_cell_text(cells["title"], at("title"), MAX_TITLE_CHARS), event=event,
                 entity_ids=entity_ids, background=_cell_text(cells["background"], at("background"), MAX_BACKGROUND_CHARS),
                 camera=camera, n_chunks=_cell_chunks(cells["chunks"], at("chunks"), DEFAULT_CHUNKS),
                 chunk_prompts=chunk_prompts)


def rows_to_script(prompt: str, scene_rows: list, entity_rows: list, previous: Script | None = None) -> Script:
    """A Script from the edited tables, keeping chunks, images, seeds and statuses from `previous`."""
    entities = _entities_from_rows(entity_rows, previous)
    old = {s.id: s for s in (previous.scenes if previous else [])}
    scenes: list[Scene] = []
    taken: set[str] = set()
    number = 0
    for row in scene_rows or []:
        number += 1
        if _is_empty_row(row):
            continue
        if len(scenes) >= MAX_SCENES:
            raise ValidationError(f"scenes row {number}: a script has at most {MAX_SCENES} scenes")
        scene = _scene_from_row(_cells(row, SCENE_COLUMNS, "scenes", number), number, entities, taken)
        before = old.get(scene.id)
        if before is not None:
            scene = _keep_made_work(before, scene)
        else:
            scene.seed = stable_seed(prompt, "scene", scene.id)
        taken.add(scene.id)
        scenes.append(scene)
    script = Script(prompt=prompt, scenes=scenes, entities=entities)
    validate_script(script)
    return script


def _keep_made_work(before: Scene, scene: Scene) -> Scene:
    """The edited scene with the old one's seed, images and chunks; changed content makes its chunks stale."""
    content = ("event", "entity_ids", "background", "camera", "chunk_prompts")
    changed = any(getattr(before, name) != getattr(scene, name) for name in content)
    chunks = [dataclasses.replace(c, status="stale") if changed and c.status in ("ready", "hidden") else c
              for c in before.chunks]  # a hidden chunk too: a raised count would show it made from the old content
    return dataclasses.replace(before, title=scene.title, event=scene.event, entity_ids=scene.entity_ids,
                               background=scene.background, camera=scene.camera, n_chunks=scene.n_chunks,
                               chunk_prompts=scene.chunk_prompts, chunks=chunks,
                               refined_outdated=before.refined_outdated or changed)  # (read only when refined.mp4 exists)
