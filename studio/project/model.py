"""The data model: Project / Script / Scene / Entity / Chunk and their validated JSON form.

Plain, JSON-serialisable dataclasses (they can live in `gr.State`; models never do). Media lives on
disk at paths computed from ids (paths.py); no record holds a path. A path field found in an older or
imported project.json (LEGACY_PATH_FIELDS) is ignored: a record can never point at another file.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from studio.errors import StudioError, ValidationError
from studio.project.json_input import parse_project_json
from studio.project.paths import (
    BACKUP_FILE,
    PROJECT_FILE,
    atomic_write_bytes,
    atomic_write_text,
    validate_id,
)

SCHEMA_VERSION = 2  # 2: chunk versions at paths computed from ids (layout.py migrates version 1)

ENTITY_STATUSES = ("pending", "approved", "rejected")
CHUNK_STATUSES = ("ready", "stale", "failed", "hidden")  # hidden: past a lowered chunk count, kept with its seed and prompt
CHUNK_APPROVALS = ("pending", "approved", "rejected")

# The camera vocabulary: each move and the phrase it adds to generation prompts.
CAMERA_MOVES: dict[str, str] = {
    "static": "static camera",
    "pan left": "camera pans left",
    "pan right": "camera pans right",
    "tilt up": "camera tilts up",
    "tilt down": "camera tilts down",
    "zoom in": "camera zooms in",
    "zoom out": "camera zooms out",
    "dolly in": "camera dollies in",
    "dolly out": "camera dollies out",
    "orbit": "camera orbits around the subject",
    "tracking": "tracking shot following the subject",
}

# Bounds that keep one request from exhausting the machine.
MAX_PROMPT_CHARS = 2000
MAX_SCENES = 24
MAX_ENTITIES = 32
MAX_CHUNKS_PER_SCENE = 64
MAX_TEXT_CHARS = 1000
# A chunk's recorded prompt is its chunk prompt (or the event) plus the background and the camera phrase.
MAX_CHUNK_RECORD_PROMPT_CHARS = MAX_PROMPT_CHARS + MAX_TEXT_CHARS + 100
MAX_TAKES_PER_CHUNK = 64  # stored versions of one chunk (a preset keeps streaming.max_takes, at most this)
MAX_TAKE_NUMBER = 1_000_000
# The one range of seeds a person gives (command line, API, the page's number boxes, plans): a browser's
# numbers are exact to 2**53, so the page could not carry torch's signed 64-bit range; 31 bits fit everywhere.
MAX_SEED = 2**31 - 1
RECORDED_SEED_LIMIT = 2**63 - 1  # what project.json may hold (torch.Generator.manual_seed's range): older projects

def slugify(text: str, fallback: str = "item", max_len: int = 40) -> str:
    """A readable id from free text: 'The Red Fox!' -> 'the-red-fox'."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:max_len].strip("-")
    return slug or fallback


@dataclass
class Entity:
    """A character, object or place shared across scenes; gets one reference image."""

    id: str
    name: str
    description: str = ""  # appearance; becomes the reference prompt
    ref_prompt: str = ""
    seed: int = 0
    status: str = "pending"  # pending | approved | rejected
    kind: str = "character"  # character | object | background


@dataclass
class Take:
    """A stored version of a chunk that is not the active one; its files are at ProjectPaths.take_file."""

    number: int  # 1, 2, ... in the order they were made
    seed: int
    prompt: str
    made: str = ""  # ISO-8601 UTC time it was made ("" when unknown)
    seconds: float = 0.0
    after_take: int | None = None  # the take of chunk k-1 it was made from (None for chunk 0)
    approval: str = "pending"  # pending | approved | rejected


@dataclass
class Chunk:
    """One streamed chunk of a scene: 16 frames for chunk 0, 8 new frames after that.

    The record describes the active version, take `take` (its files at ProjectPaths.take_file for that
    number); `takes` holds the other stored versions, and stays empty for a chunk that has only ever had one.
    """

    index: int
    seed: int
    prompt: str
    status: str = "ready"  # ready | stale | failed | hidden
    seconds: float = 0.0  # wall time spent making it
    approval: str = "pending"  # pending | approved | rejected
    take: int = 1  # the number of the active version
    after_take: int | None = None  # the take of chunk k-1 it was made from (None: chunk 0, or take 1 of a project before takes)
    made: str = ""  # ISO-8601 UTC time it was made ("" when unknown)
    takes: list[Take] = field(default_factory=list)


# The video model families (a preset's models.family; a scene records the one that made its chunks): the
# paper's StreamingT2V (UNet3D + CAM + APM) or LTX-Video (studio/generate/ltx/).
FAMILIES = ("streaming-t2v", "ltx")


@dataclass
class Scene:
    """One scene of the script; made chunk by chunk from its scene image (or from text alone)."""

    id: str
    title: str
    event: str
    entity_ids: list[str] = field(default_factory=list)
    background: str = ""
    camera: str = "static"
    n_chunks: int = 4
    chunk_prompts: list[str] = field(default_factory=list)  # optional, one per chunk ("prompt travel")
    seed: int = 0
    chunks: list[Chunk] = field(default_factory=list)
    refined_outdated: bool = False  # the chunks changed after the refined video was made from them
    family: str = ""  # the video model family that made its chunks (config.FAMILIES); "" before any

    def prompt_for_chunk(self, index: int) -> str:
        """The generation prompt of chunk `index`: the camera phrase, then its own prompt or the event, then the background.

        The camera phrase comes first: CLIP keeps 77 tokens and cuts the end, so a long scene text is
        shortened and the move survives.
        """
        text = self.event
        if index < len(self.chunk_prompts) and self.chunk_prompts[index].strip():
            text = self.chunk_prompts[index].strip()
        parts = [CAMERA_MOVES.get(self.camera, ""), text]
        if self.background and self.background.lower() not in text.lower():
            parts.append(self.background)
        return ", ".join(p for p in parts if p)

    def chunk_seed(self, index: int) -> int:
        """The default seed of chunk `index`: derived from the scene seed, so reruns reproduce it."""
        return (self.seed * 1000 + index) % (2**31)


@dataclass
class Script:
    """The plan: what happens, who is in it, where, how the camera moves, how long."""

    prompt: str
    scenes: list[Scene] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)

    def entity(self, entity_id: str) -> Entity:
        for entity in self.entities:
            if entity.id == entity_id:
                return entity
        known = ", ".join(e.id for e in self.entities) or "none"
        raise ValidationError(f"entity {entity_id!r} is not in the script (known: {known})")

    def scene(self, scene_id: str) -> Scene:
        for scene in self.scenes:
            if scene.id == scene_id:
                return scene
        known = ", ".join(s.id for s in self.scenes) or "none"
        raise ValidationError(f"scene {scene_id!r} is not in the script (known: {known})")


@dataclass
class Project:
    """A project: the script plus everything made from it, kept in one folder."""

    id: str
    preset: str
    script: Script
    version: int = SCHEMA_VERSION


# ----------------------------------------------------------------------------- JSON round trip


def project_to_dict(project: Project) -> dict[str, Any]:
    return dataclasses.asdict(project)


def _require(data: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(data, dict):
        raise ValidationError(f"{where} must be an object, got {type(data).__name__}")
    if key not in data:
        raise ValidationError(f"{where}.{key} is missing")
    value = data[key]
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ValidationError(f"{where}.{key} must be {names}, got {value!r:.80}")
    return value


def _optional(data: dict, key: str, kind: type | tuple[type, ...], where: str, default: Any) -> Any:
    if data.get(key) is None:
        return default
    return _require(data, key, kind, where)


# Path fields of version-1 records. Read only as "was there a file" by the migration (layout.py); the
# loader ignores their values, so a record naming another scene's chunk or project.json changes nothing.
LEGACY_PATH_FIELDS = frozenset({"frames", "preview", "ref_image", "scene_image", "draft", "refined", "final"})


def _check_keys(data: dict, cls: type, where: str) -> None:
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known - LEGACY_PATH_FIELDS)
    if unknown:
        raise ValidationError(f"{where} has unknown field {unknown[0]!r} (known: {', '.join(sorted(known))})")


def _text(data: dict, key: str, where: str, default: str | None = None, limit: int = MAX_TEXT_CHARS) -> str:
    value = _require(data, key, str, where) if default is None else _optional(data, key, str, where, default)
    if len(value) > limit:
        raise ValidationError(f"{where}.{key} is {len(value)} characters long; the limit is {limit}")
    return value


def _seed(data: dict, key: str, where: str, default: int | None = 0) -> int:
    value = _require(data, key, int, where) if default is None else _optional(data, key, int, where, default)
    if not 0 <= value <= RECORDED_SEED_LIMIT:
        raise ValidationError(f"{where}.{key} {value:.0f} must be a whole number from 0 to {RECORDED_SEED_LIMIT}")
    return value


def _seconds(data: dict, key: str, where: str) -> float:
    value = float(_optional(data, key, (int, float), where, 0.0))
    if not math.isfinite(value) or not 0 <= value <= 1e9:
        raise ValidationError(f"{where}.{key} {value!r} must be a finite number of seconds from 0")
    return value


def entity_from_dict(data: Any, where: str = "entity") -> Entity:
    _require(data, "id", str, where)
    _check_keys(data, Entity, where)
    status = _optional(data, "status", str, where, "pending")
    if status not in ENTITY_STATUSES:
        raise ValidationError(f"{where}.status {status!r} must be one of {', '.join(ENTITY_STATUSES)}")
    return Entity(
        id=validate_id(data["id"], f"{where}.id"),
        name=_text(data, "name", where),
        description=_text(data, "description", where, ""),
        ref_prompt=_text(data, "ref_prompt", where, ""),
        seed=_seed(data, "seed", where),
        status=status,
        kind=_text(data, "kind", where, "character"),
    )


def _choice(data: dict, key: str, where: str, choices: tuple[str, ...]) -> str:
    value = _optional(data, key, str, where, choices[0])
    if value not in choices:
        raise ValidationError(f"{where}.{key} {value!r:.80} must be one of {', '.join(choices)}")
    return value


def _take_number(data: dict, key: str, where: str, default: int | None) -> int | None:
    value = _optional(data, key, int, where, default)
    if value is not None and not 1 <= value <= MAX_TAKE_NUMBER:
        raise ValidationError(f"{where}.{key} {value} must be a take number from 1 to {MAX_TAKE_NUMBER}")
    return value


def _made(data: dict, where: str) -> str:
    value = _text(data, "made", where, "", limit=40)
    if value:
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(f"{where}.made {value!r} must be an ISO-8601 time such as 2026-01-31T12:00:00+00:00") from None
    return value


def take_from_dict(data: Any, where: str = "take") -> Take:
    _require(data, "number", int, where)
    _check_keys(data, Take, where)
    take = Take(
        number=_take_number(data, "number", where, None),
        seed=_seed(data, "seed", where, default=None),
        prompt=_text(data, "prompt", where, "", limit=MAX_CHUNK_RECORD_PROMPT_CHARS),
        made=_made(data, where),
        seconds=_seconds(data, "seconds", where),
        after_take=_take_number(data, "after_take", where, None),
        approval=_choice(data, "approval", where, CHUNK_APPROVALS),
    )
    return take


def chunk_from_dict(data: Any, where: str = "chunk") -> Chunk:
    _require(data, "index", int, where)
    _check_keys(data, Chunk, where)
    takes_data = _optional(data, "takes", list, where, [])
    if len(takes_data) > MAX_TAKES_PER_CHUNK:
        raise ValidationError(f"{where} has {len(takes_data)} takes; the limit is {MAX_TAKES_PER_CHUNK}")
    chunk = Chunk(
        index=data["index"],
        seed=_seed(data, "seed", where, default=None),
        prompt=_text(data, "prompt", where, "", limit=MAX_CHUNK_RECORD_PROMPT_CHARS),
        status=_choice(data, "status", where, CHUNK_STATUSES),
        seconds=_seconds(data, "seconds", where),
        approval=_choice(data, "approval", where, CHUNK_APPROVALS),
        take=_take_number(data, "take", where, 1),
        after_take=_take_number(data, "after_take", where, None),
        made=_made(data, where),
        takes=[take_from_dict(t, f"{where}.takes[{i}]") for i, t in enumerate(takes_data)],
    )
    numbers = [chunk.take] + [take.number for take in chunk.takes]
    if len(set(numbers)) != len(numbers):
        raise ValidationError(f"{where}.takes numbers {numbers} must differ from each other and from the active take")
    return chunk


def scene_from_dict(data: Any, where: str = "scene") -> Scene:
    _require(data, "id", str, where)
    _check_keys(data, Scene, where)
    camera = _optional(data, "camera", str, where, "static")
    if camera not in CAMERA_MOVES:
        raise ValidationError(f"{where}.camera {camera!r} must be one of: {', '.join(CAMERA_MOVES)}")
    n_chunks = _optional(data, "n_chunks", int, where, 4)
    if not 1 <= n_chunks <= MAX_CHUNKS_PER_SCENE:
        raise ValidationError(f"{where}.n_chunks {n_chunks} must be between 1 and {MAX_CHUNKS_PER_SCENE}")
    entity_ids = _optional(data, "entity_ids", list, where, [])
    chunk_prompts = _optional(data, "chunk_prompts", list, where, [])
    for i, prompt in enumerate(chunk_prompts):
        if not isinstance(prompt, str):
            raise ValidationError(f"{where}.chunk_prompts[{i}] must be str, got {prompt!r:.80}")
        if len(prompt) > MAX_PROMPT_CHARS:
            raise ValidationError(f"{where}.chunk_prompts[{i}] is {len(prompt)} characters long; the limit is {MAX_PROMPT_CHARS}")
    if len(chunk_prompts) > MAX_CHUNKS_PER_SCENE:
        raise ValidationError(f"{where} has {len(chunk_prompts)} chunk prompts; the limit is {MAX_CHUNKS_PER_SCENE}")
    if len(_optional(data, "chunks", list, where, [])) > MAX_CHUNKS_PER_SCENE:
        raise ValidationError(f"{where} has {len(data['chunks'])} chunk records; the limit is {MAX_CHUNKS_PER_SCENE}")
    chunks = [chunk_from_dict(c, f"{where}.chunks[{i}]") for i, c in enumerate(_optional(data, "chunks", list, where, []))]
    for i, chunk in enumerate(chunks):
        if chunk.index != i:
            raise ValidationError(f"{where}.chunks[{i}].index is {chunk.index}; chunks must be numbered 0, 1, 2, ...")
    return Scene(
        id=validate_id(data["id"], f"{where}.id"),
        title=_text(data, "title", where, ""),
        event=_text(data, "event", where),
        entity_ids=[validate_id(e, f"{where}.entity_ids[{i}]") for i, e in enumerate(entity_ids)],
        background=_text(data, "background", where, ""),
        camera=camera,
        n_chunks=n_chunks,
        chunk_prompts=chunk_prompts,
        seed=_seed(data, "seed", where),
        chunks=chunks,
        refined_outdated=_optional(data, "refined_outdated", bool, where, False),
        family=_family(data, where),
    )


def _family(data: dict, where: str) -> str:
    family = _optional(data, "family", str, where, "")
    if family and family not in FAMILIES:
        raise ValidationError(f"{where}.family {family[:40]!r} must be one of {', '.join(FAMILIES)} (or absent)")
    return family


def script_from_dict(data: Any, where: str = "script") -> Script:
    _check_keys(data if isinstance(data, dict) else {}, Script, where)
    prompt = _text(data, "prompt", where, limit=MAX_PROMPT_CHARS)
    scenes_data = _optional(data, "scenes", list, where, [])
    entities_data = _optional(data, "entities", list, where, [])
    if len(scenes_data) > MAX_SCENES:
        raise ValidationError(f"{where} has {len(scenes_data)} scenes; the limit is {MAX_SCENES}")
    if len(entities_data) > MAX_ENTITIES:
        raise ValidationError(f"{where} has {len(entities_data)} entities; the limit is {MAX_ENTITIES}")
    script = Script(
        prompt=prompt,
        scenes=[scene_from_dict(s, f"{where}.scenes[{i}]") for i, s in enumerate(scenes_data)],
        entities=[entity_from_dict(e, f"{where}.entities[{i}]") for i, e in enumerate(entities_data)],
    )
    validate_script(script, where)
    return script


def validate_script(script: Script, where: str = "script") -> None:
    """Cross-field checks: unique ids and scene entity ids that exist."""
    seen: set[str] = set()
    for i, entity in enumerate(script.entities):
        if entity.id in seen:
            raise ValidationError(f"{where}.entities[{i}].id {entity.id!r} is used twice")
        seen.add(entity.id)
    scene_ids: set[str] = set()
    for i, scene in enumerate(script.scenes):
        if scene.id in scene_ids:
            raise ValidationError(f"{where}.scenes[{i}].id {scene.id!r} is used twice")
        scene_ids.add(scene.id)
        for entity_id in scene.entity_ids:
            if entity_id not in seen:
                raise ValidationError(
                    f"{where}.scenes[{i}].entity_ids names {entity_id!r}, which is not an entity of the script"
                )


def project_from_dict(data: Any) -> Project:
    where = "project"
    _require(data, "id", str, where)
    _check_keys(data, Project, where)
    version = _optional(data, "version", int, where, SCHEMA_VERSION)
    if version > SCHEMA_VERSION:
        raise ValidationError(f"project.version {version} is newer than this StreamStudio understands ({SCHEMA_VERSION})")
    return Project(
        id=validate_id(data["id"], "project.id"),
        preset=_preset_name(data, where),
        script=script_from_dict(_require(data, "script", dict, where)),
        version=SCHEMA_VERSION,
    )


def _preset_name(data: dict, where: str) -> str:
    """A project names its preset by name only: a path in a project file (an archive's own YAML) is refused."""
    value = _optional(data, "preset", str, where, "animatic")
    try:
        return validate_id(value, f"{where}.preset")
    except ValidationError:
        raise ValidationError(f"{where}.preset {value[:80]!r} must be a preset name such as animatic or tiny, not a "
                              "path (a preset file is used only when given with --preset)") from None


def validated_copy(project: Project) -> Project:
    """The project as load_project would read it back: the same rules on every path into project.json."""
    return project_from_dict(json.loads(json.dumps(project_to_dict(project), allow_nan=True)))


# ----------------------------------------------------------------------------- files


def save_project(project: Project, project_dir: Path) -> Path:
    """Write project.json atomically; the previous good copy is kept as project.json.bak."""
    project_dir = Path(project_dir)
    path = project_dir / PROJECT_FILE
    validated_copy(project)  # what cannot be read back is never written: the saved project stays openable
    text = json.dumps(project_to_dict(project), indent=2, ensure_ascii=False, allow_nan=False)
    if path.exists():
        try:
            previous = path.read_bytes()
            json.loads(previous)  # only a readable copy is worth keeping as the backup
            atomic_write_bytes(project_dir / BACKUP_FILE, previous)
        except (OSError, ValueError):
            pass
    atomic_write_text(path, text)
    return path


def load_project(project_dir: Path) -> Project:
    """Read and validate project.json; a corrupt file gets a clear error and the backup is named."""
    project_dir = Path(project_dir)
    path = project_dir / PROJECT_FILE
    if not path.is_file():
        raise StudioError(f"no project at {project_dir}: {PROJECT_FILE} is missing (create one with `python -m studio plan`)")
    try:
        data = parse_project_json(path.read_text(encoding="utf-8"), str(path))
        if isinstance(data, dict) and isinstance(data.get("version", 1), int) and data.get("version", 1) < SCHEMA_VERSION:
            from studio.project.layout import migrate_layout  # lazy: layout builds on this module

            migrate_layout(project_dir)  # a version-1 folder: its chunk versions move to the paths of ids first
            data = parse_project_json(path.read_text(encoding="utf-8"), str(path))
        return project_from_dict(data)
    except UnicodeDecodeError as error:
        raise StudioError(f"{path} is corrupt ({error}){_backup_hint(project_dir)}") from None
    except ValidationError as error:
        raise ValidationError(f"{path} cannot be opened: {error}{_backup_hint(project_dir)}") from None


def _backup_hint(project_dir: Path) -> str:
    """Names project.json.bak only when it is itself a project that opens (a hint to a dead end helps no one)."""
    backup = project_dir / BACKUP_FILE
    try:
        project_from_dict(parse_project_json(backup.read_text(encoding="utf-8"), str(backup)))
    except (OSError, UnicodeDecodeError, ValidationError):
        return ""
    return f"; the last good copy is {backup} (rename it to {PROJECT_FILE} to go back to it)"


def new_project(project_id: str, preset: str, script: Script) -> Project:
    return Project(id=validate_id(project_id, "project id"), preset=preset, script=script)


def scene_ids_to_make(project: Project, scene_id: str | None) -> list[str]:
    """The one scene asked for, or every scene in order; the one "no scenes yet" error of every stage."""
    if scene_id is not None:
        return [project.script.scene(scene_id).id]
    if not project.script.scenes:
        raise StudioError("the script has no scenes yet: add one in the Plan tab, or plan the prompt again")
    return [scene.id for scene in project.script.scenes]


def unique_id(base: str, taken: set[str]) -> str:
    """`base`, or `base-2`, `base-3`, ... : the first that is not in `taken`."""
    candidate, n = base, 2
    while candidate in taken:
        candidate = f"{base}-{n}"
        n += 1
    return candidate
