"""A scene's draft: a file derived from the records, rebuilt whenever the active takes change.

draft.mp4 is the preview segments of the ready chunks' active takes in order, joined without
re-encoding (a stream copy: a regeneration or a take switch rewrites it in a blink). Beside it,
draft.takes.json lists the (chunk, take) pairs it joins. The draft is written for the records about to
be saved, just before they are: the new draft is joined beside the old one (a full disk stops here,
with nothing changed), the stamp is removed, the draft renamed into place, then the new stamp written.
So after a kill anywhere the stamp either matches draft.mp4 or is missing, and a draft whose stamp is
not the active takes of the records on disk is stale (`draft_is_current`): never shown or exported, and
rebuilt on the next open.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from studio.project.model import Scene
from studio.project.paths import ProjectPaths, atomic_write_text

NEXT_DRAFT = "draft.next.mp4"  # the new draft, joined beside the old one (as .draft.next.mp4)


def draft_takes(paths: ProjectPaths, scene: Scene) -> list[list[int]]:
    """[[chunk index, active take], ...] of the chunks the draft shows: the ready ones (with their preview) up
    to the first that is not."""
    shown = []
    for chunk in scene.chunks:
        if chunk.status != "ready" or not paths.chunk_preview(scene.id, chunk).is_file():
            break
        shown.append([chunk.index, chunk.take])
    return shown


def write_draft(paths: ProjectPaths, scene: Scene) -> Path | None:
    """Rebuild draft.mp4 from the active takes (and its stamp); with no ready chunk, remove both. Returns the draft."""
    from studio.media.video import concat_mp4  # lazy: ffmpeg is not needed to read a project

    shown = draft_takes(paths, scene)
    draft, stamp = paths.draft(scene.id), paths.draft_stamp(scene.id)
    if not shown:
        stamp.unlink(missing_ok=True)
        draft.unlink(missing_ok=True)
        return None
    joined = draft.with_name(f".{NEXT_DRAFT}")  # a dot name: swept if a kill leaves it
    try:
        concat_mp4([paths.take_preview(scene.id, *pair) for pair in shown], joined)
        stamp.unlink(missing_ok=True)
        os.replace(joined, draft)
    finally:
        joined.unlink(missing_ok=True)
    atomic_write_text(stamp, json.dumps(shown))
    return draft


def draft_is_current(paths: ProjectPaths, scene: Scene) -> bool:
    """draft.mp4 exists and joins chunks 0, 1, ... each at its active take. (An edit that only marks the
    chunks stale leaves it current: it still shows the chunks on record, and export names them stale.)"""
    try:
        stamp = json.loads(paths.draft_stamp(scene.id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    active = [[chunk.index, chunk.take] for chunk in scene.chunks]
    return (paths.draft(scene.id).is_file() and isinstance(stamp, list) and 0 < len(stamp) <= len(active)
            and stamp == active[:len(stamp)])


def current_draft(paths: ProjectPaths, scene: Scene) -> Path | None:
    """The scene's draft video when it shows the active takes (a stale one is never shown or exported)."""
    return paths.draft(scene.id) if draft_is_current(paths, scene) else None
