"""The generator's save: only the generating scene's own fields, merged into project.json as it is now.

A scene takes minutes to generate, and the script may be edited meanwhile (another tab, the CLI). The
chunk loop therefore never writes back its copy of the whole project: under the project lock it reloads
project.json, replaces the generation fields of its one scene and saves. When the record on disk no
longer matches what the loop last saved (an edit marked the chunks stale, or removed the scene), the
loop's work would overwrite that edit: it is refused with SceneChangedError and the generation stops.
A chunk's approval is not the generator's: approving or rejecting a finished chunk meanwhile is no
conflict, and the person's verdict is carried into the save (unless the loop remade that chunk since).
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

from studio.errors import StudioError
from studio.project.lock import project_lock
from studio.project.model import Project, Scene, load_project, save_project

GENERATION_FIELDS = ("chunks", "refined_outdated", "family")  # what the chunk loop changes in its scene


class SceneChangedError(StudioError):
    """The scene being generated was changed on disk by someone else; its next chunk is not saved."""


def generation_record(scene: Scene, fields: tuple[str, ...] = GENERATION_FIELDS) -> dict:
    """A deep copy of `fields` of `scene`: what a later save compares the disk against."""
    return {name: copy.deepcopy(getattr(scene, name)) for name in fields}


def save_scene_progress(project: Project, project_dir: Path, *, scene_id: str, base: dict | None = None,
                        fields: tuple[str, ...] = GENERATION_FIELDS) -> dict:
    """Write scene `scene_id`'s `fields` from `project` into project.json as it is on disk; return what was saved.

    `base` is what the caller last loaded or saved (a `generation_record`); when the disk's record
    differs from it, someone else changed the scene meanwhile and nothing is written.
    """
    mine = project.script.scene(scene_id)
    with project_lock(project_dir):
        current = load_project(project_dir)
        try:
            on_disk = current.script.scene(scene_id)
        except StudioError:
            raise SceneChangedError(f"scene {scene_id!r} was removed from the script while it generated; "
                                    "its new chunk is not saved") from None
        if base is not None and _without_approvals(generation_record(on_disk, tuple(base))) != _without_approvals(base):
            raise SceneChangedError(f"scene {scene_id!r} was edited while it generated (its chunks changed); "
                                    "generation stopped: press Generate to remake its chunks") from None
        if base is not None and "chunks" in base:
            _keep_approvals_given_meanwhile(mine, on_disk, base["chunks"])
        for name in fields:
            setattr(on_disk, name, copy.deepcopy(getattr(mine, name)))
        save_project(current, project_dir)
    return generation_record(mine, fields)


def _unapproved(chunk):
    return dataclasses.replace(chunk, approval="pending")


def _without_approvals(record: dict) -> dict:
    """`record` with every chunk's approval blanked: what the generator owns and compares."""
    if "chunks" not in record:
        return record
    return {**record, "chunks": [_unapproved(chunk) for chunk in record["chunks"]]}


def _keep_approvals_given_meanwhile(mine: Scene, on_disk: Scene, base_chunks: list) -> None:
    """Carry the disk's approval of each chunk the loop left as it was (same record as `base_chunks`)
    into `mine`; a chunk the loop remade since keeps its own (pending: its frames are new)."""
    for index, chunk in enumerate(mine.chunks):
        if index < len(base_chunks) and index < len(on_disk.chunks) and chunk == base_chunks[index]:
            chunk.approval = on_disk.chunks[index].approval


def merge_scene_fields(project: Project, scene: Scene, fields: tuple[str, ...]) -> None:
    """Copy `fields` of `scene` onto the scene of the same id in `project` (the head's merge of a worker)."""
    target = project.script.scene(scene.id)
    for name in fields:
        setattr(target, name, copy.deepcopy(getattr(scene, name)))

