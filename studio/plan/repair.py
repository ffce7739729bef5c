"""Validation and repair shared by every planner: loose planner output -> a valid Script.

A model (or a person) may write almost-right JSON: other key names, camera words outside the
vocabulary, entity names where ids belong, duplicates, empty fields. `repair_script` accepts all of
that, fixes what it can (logging a warning for each fix that drops something) and raises a one-line
ValidationError only when nothing usable is left, so an LLM planner can retry with that message.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from typing import Any

from studio.config import Preset
from studio.errors import ValidationError
from studio.plan.camera import CAMERA_SYNONYMS, map_camera  # noqa: F401 - part of this module's API
from studio.plan.schema import (
    ENTITY_KINDS,
    MAX_BACKGROUND_CHARS,
    MAX_DESCRIPTION_CHARS,
    MAX_EVENT_CHARS,
    MAX_NAME_CHARS,
    MAX_SEED,
    MAX_TITLE_CHARS,
)
from studio.project.model import (
    MAX_CHUNKS_PER_SCENE,
    MAX_ENTITIES,
    MAX_SCENES,
    Entity,
    Scene,
    Script,
    slugify,
    validate_script,
)

logger = logging.getLogger(__name__)



def stable_seed(*parts: Any) -> int:
    """A seed from text that is the same in every process (Python's hash() is salted)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()
    return int(digest[:8], 16) % (MAX_SEED + 1)


def chunks_for_seconds(seconds: float, preset: Preset) -> int:
    """Chunks that cover `seconds`: the first chunk adds frames_per_chunk frames, each later one the new frames."""
    s = preset.streaming
    frames = max(0.0, float(seconds)) * s.fps
    new_frames = s.frames_per_chunk - s.context_frames
    n_chunks = 1 + math.ceil(max(0.0, frames - s.frames_per_chunk) / new_frames)
    return max(1, min(MAX_CHUNKS_PER_SCENE, n_chunks))


def parse_json_text(text: Any) -> Any:
    """The JSON value in a model's answer (code fences and chatter around it are ignored)."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("the planner returned nothing; expected a JSON object with 'entities' and 'scenes'")
    body = text.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", body, re.DOTALL)
    if fenced:
        body = fenced.group(1).strip()
    try:
        return json.loads(body)
    except json.JSONDecodeError as error:
        first_error = error
    start, end = body.find("{"), body.rfind("}")
    if start != -1 and end > start:
        try:
            return json.loads(body[start:end + 1])
        except json.JSONDecodeError as error:
            first_error = error
    if start == -1:
        raise ValidationError(f"the planner's answer is not JSON: {body[:60]!r}")
    raise ValidationError(f"the planner's answer is not valid JSON ({first_error.msg} at character {first_error.pos})")


def _first(data: dict, keys: tuple[str, ...], default: Any = None) -> Any:
    for key in keys:
        if data.get(key) not in (None, "", []):
            return data[key]
    return default


def _clean(value: Any, limit: int) -> str:
    if value is None or isinstance(value, (dict, list)):
        return ""
    return re.sub(r"\s+", " ", str(value)).strip()[:limit].strip()


def clean_name(value: Any) -> str:
    """A display name: one line, no commas (the scenes table lists names comma-separated)."""
    return re.sub(r"\s+", " ", _clean(value, MAX_NAME_CHARS * 2).replace(",", " ")).strip()[:MAX_NAME_CHARS].strip()


def prompt_sentences(prompt: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?;])\s+", prompt) if s.strip()]


def _title_from(event: str) -> str:
    """A title that is a whole phrase (studio.plan.titles)."""
    from studio.plan.titles import title_from

    return title_from(event, MAX_TITLE_CHARS)


# ----------------------------------------------------------------------------- entities


def _repair_entities(raw: Any) -> tuple[list[Entity], dict[str, str]]:
    """Entities and a lookup from every way a scene may name one (id, slug, name) to its id."""
    if isinstance(raw, dict):  # {"red-fox": "a red fox", ...} or {"red-fox": {...}}
        raw = [dict(v, id=v.get("id", k)) if isinstance(v, dict) else {"id": k, "description": v} for k, v in raw.items()]
    if not isinstance(raw, list):
        raw = []
    entities: list[Entity] = []
    lookup: dict[str, str] = {}
    for i, item in enumerate(raw):
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict):
            logger.warning("planner entity %d is not an object; dropped", i)
            continue
        name = clean_name(_first(item, ("name", "id", "title")))
        if not name:
            logger.warning("planner entity %d has no name; dropped", i)
            continue
        given_id = _clean(item.get("id"), 64)
        entity_id = slugify(given_id or name, fallback="entity")
        known = lookup.get(entity_id) or lookup.get(name.lower())
        description = _clean(_first(item, ("description", "appearance", "look", "prompt")), MAX_DESCRIPTION_CHARS)
        if known:  # the same entity twice: merge, keeping the longer description
            logger.warning("planner entity %r duplicates %r; merged", name, known)
            first = next(e for e in entities if e.id == known)
            if len(description) > len(first.description):
                first.description = description
            for key in (given_id.lower(), entity_id, name.lower()):
                lookup.setdefault(key, known)
            continue
        if len(entities) >= MAX_ENTITIES:
            logger.warning("planner wrote more than %d entities; %r dropped", MAX_ENTITIES, name)
            continue
        kind = _clean(item.get("kind"), 20).lower()
        entity = Entity(id=entity_id, name=name, description=description or name,
                        kind=kind if kind in ENTITY_KINDS else "character")
        entities.append(entity)
        for key in (given_id.lower(), entity_id, name.lower(), slugify(name)):
            if key:
                lookup.setdefault(key, entity_id)
    return entities, lookup


def _scene_entity_ids(raw: Any, lookup: dict[str, str], where: str) -> list[str]:
    if isinstance(raw, str):
        raw = [part for part in re.split(r"[,;]", raw)]
    if not isinstance(raw, list):
        return []
    ids: list[str] = []
    for ref in raw:
        if isinstance(ref, dict):
            ref = _first(ref, ("id", "name"), "")
        key = _clean(ref, 80).lower()
        entity_id = lookup.get(key) or lookup.get(slugify(key))
        if entity_id is None:
            if key:
                logger.warning("%s names unknown entity %r; dropped", where, key)
            continue
        if entity_id not in ids:
            ids.append(entity_id)
    return ids


# ----------------------------------------------------------------------------- scenes


def _repair_scene(item: dict, index: int, lookup: dict[str, str], prompt: str, preset: Preset) -> Scene:
    where = f"scene {index + 1}"
    sentences = prompt_sentences(prompt) or [prompt]
    event = _clean(_first(item, ("event", "description", "action", "prompt", "text", "summary")), MAX_EVENT_CHARS)
    if not event:
        event = _clean(sentences[min(index, len(sentences) - 1)], MAX_EVENT_CHARS)
        logger.warning("%s has no event; filled from the prompt", where)
    title = _clean(_first(item, ("title", "name", "heading")), MAX_TITLE_CHARS) or _title_from(event)
    camera_raw = _first(item, ("camera", "camera_movement", "camera_move", "shot"))
    camera = map_camera(camera_raw) or "static"
    if camera_raw not in (None, camera):
        logger.info("%s camera %r mapped to %r", where, camera_raw, camera)
    n_chunks = _first(item, ("n_chunks", "chunks", "num_chunks"))
    seconds = _first(item, ("seconds", "duration", "duration_seconds"))
    if isinstance(n_chunks, (int, float)) and not isinstance(n_chunks, bool):
        n_chunks = int(round(n_chunks))
    elif isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
        n_chunks = chunks_for_seconds(seconds, preset)
    else:
        n_chunks = preset.planning.default_chunks
    chunk_prompts = item.get("chunk_prompts")
    chunk_prompts = [_clean(p, MAX_EVENT_CHARS) for p in chunk_prompts] if isinstance(chunk_prompts, list) else []
    seed = item.get("seed")
    return Scene(
        id=f"scene-{index + 1}", title=title, event=event,
        entity_ids=_scene_entity_ids(_first(item, ("entity_ids", "entities", "characters", "foreground", "objects"), []),
                                     lookup, where),
        background=_clean(_first(item, ("background", "setting", "location", "place")), MAX_BACKGROUND_CHARS),
        camera=camera, n_chunks=max(1, min(MAX_CHUNKS_PER_SCENE, n_chunks)),
        chunk_prompts=chunk_prompts if any(chunk_prompts) else [],
        seed=seed if isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed <= MAX_SEED else -1,
    )


def _merge(a: Scene, b: Scene) -> Scene:
    prompts = []
    if a.chunk_prompts or b.chunk_prompts:
        prompts = (a.chunk_prompts + [a.event] * a.n_chunks)[:a.n_chunks] + (b.chunk_prompts + [b.event] * b.n_chunks)[:b.n_chunks]
    event = f"{a.event.rstrip('.')}, then {b.event[:1].lower()}{b.event[1:]}"
    return Scene(id=a.id, title=a.title, event=event[:MAX_EVENT_CHARS], entity_ids=a.entity_ids + [e for e in b.entity_ids if e not in a.entity_ids],
                 background=a.background or b.background, camera=a.camera, n_chunks=min(MAX_CHUNKS_PER_SCENE, a.n_chunks + b.n_chunks),
                 chunk_prompts=prompts[:MAX_CHUNKS_PER_SCENE], seed=a.seed)


def _split(scene: Scene) -> tuple[Scene, Scene]:
    first_chunks = max(1, math.ceil(scene.n_chunks / 2))
    second_chunks = max(1, scene.n_chunks - first_chunks)
    first = Scene(id=scene.id, title=scene.title, event=scene.event, entity_ids=list(scene.entity_ids),
                  background=scene.background, camera=scene.camera, n_chunks=first_chunks,
                  chunk_prompts=scene.chunk_prompts[:first_chunks], seed=scene.seed)
    second = Scene(id=scene.id, title=f"{scene.title} (cont.)"[:MAX_TITLE_CHARS], event=scene.event,
                   entity_ids=list(scene.entity_ids), background=scene.background, camera=scene.camera,
                   n_chunks=second_chunks, chunk_prompts=scene.chunk_prompts[first_chunks:], seed=-1)
    return first, second


def _in_beats(scenes: list[Scene], num_scenes: int) -> list[Scene]:
    """Up to three beats per event (establishing, action, outcome), the longest events first."""
    from studio.plan.beats import tell_in_beats

    counts = [1] * len(scenes)
    order = sorted(range(len(scenes)), key=lambda i: (-scenes[i].n_chunks, i))
    need = num_scenes - len(scenes)
    while need > 0 and any(count < 3 for count in counts):
        for i in order:
            if need > 0 and counts[i] < 3:
                counts[i] += 1
                need -= 1
    told: list[Scene] = []
    for scene, count in zip(scenes, counts):
        told += (tell_in_beats(scene, count, _title_from) if count > 1 else []) or [scene]
    return told


def fit_scene_count(scenes: list[Scene], num_scenes: int) -> list[Scene]:
    """Exactly `num_scenes` scenes: neighbours merged into even groups, or events told in beats
    (studio.plan.beats), then the longest scenes split in two."""
    scenes = list(scenes)
    if len(scenes) > num_scenes:
        groups, start = [], 0
        for g in range(num_scenes):
            size = len(scenes) // num_scenes + (1 if g < len(scenes) % num_scenes else 0)
            groups.append(scenes[start:start + size])
            start += size
        merged = []
        for group in groups:
            scene = group[0]
            for other in group[1:]:
                scene = _merge(scene, other)
            merged.append(scene)
        scenes = merged
    if scenes and len(scenes) < num_scenes:
        scenes = _in_beats(scenes, num_scenes)
    while scenes and len(scenes) < num_scenes:  # past three beats an event: its longest scene in two
        longest = max(range(len(scenes)), key=lambda i: (scenes[i].n_chunks, -i))
        scenes[longest:longest + 1] = list(_split(scenes[longest]))
    return scenes


# ----------------------------------------------------------------------------- the script


def repair_script(data: Any, prompt: str, preset: Preset, num_scenes: int | None = None) -> Script:
    """A valid Script from loose planner output; raises ValidationError when no scene is usable."""
    if isinstance(data, list):
        data = {"scenes": data}
    if not isinstance(data, dict):
        raise ValidationError(f"the planner's answer must be a JSON object with 'entities' and 'scenes', got {type(data).__name__}")
    entities, lookup = _repair_entities(_first(data, ("entities", "characters", "cast"), []))
    raw_scenes = _first(data, ("scenes", "shots", "script"), [])
    if not isinstance(raw_scenes, list) or not any(isinstance(s, (dict, str)) for s in raw_scenes):
        raise ValidationError("the planner's answer has no scenes: 'scenes' must be a non-empty list of objects")
    scenes = []
    for i, item in enumerate(raw_scenes[:MAX_SCENES]):
        if isinstance(item, str):
            item = {"event": item}
        if isinstance(item, dict):
            scenes.append(_repair_scene(item, len(scenes), lookup, prompt, preset))
    script = finish_script(prompt, scenes, entities, num_scenes)
    return script


def finish_script(prompt: str, scenes: list[Scene], entities: list[Entity], num_scenes: int | None = None) -> Script:
    """The last steps of every planner: scene count, entities named in events, carried-over backgrounds,
    dropped unused entities, ids and deterministic seeds; then the Script is validated."""
    if num_scenes:
        scenes = fit_scene_count(scenes, num_scenes)
    for scene in scenes:
        text = scene.event.lower()
        for entity in entities:  # a model often names an entity in the event but forgets its id
            if entity.id not in scene.entity_ids and re.search(rf"\b{re.escape(entity.name.lower())}\b", text):
                scene.entity_ids.append(entity.id)
    for previous, scene in zip(scenes, scenes[1:]):
        if not scene.background:
            scene.background = previous.background
    used = {entity_id for scene in scenes for entity_id in scene.entity_ids}
    for entity in entities:
        if entity.id not in used:
            logger.warning("entity %r is in no scene; dropped", entity.id)
    entities = [e for e in entities if e.id in used]
    for index, scene in enumerate(scenes):
        scene.id = f"scene-{index + 1}"
        if scene.seed < 0:
            scene.seed = stable_seed(prompt, "scene", index)
    for entity in entities:
        entity.seed = stable_seed(prompt, "entity", entity.id)
    script = Script(prompt=prompt, scenes=scenes, entities=entities)
    validate_script(script)
    return script
