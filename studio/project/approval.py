"""Chunk approval: a person approves or rejects each chunk before the scene goes on to refinement.

The record is `Chunk.approval` (pending | approved | rejected). A regenerated chunk starts pending again
(its frames are new); an edit that makes a chunk stale leaves its approval alone, but a chunk counts as
approved only while it is ready: its approval was given to frames its context no longer makes.
Chunks past the scene's chunk count (hidden, or stale or failed past a lowered count) are not part of
the scene and are not counted. Every hint printed names a command that clears what it is about.
"""

from __future__ import annotations

from pathlib import Path

from studio.errors import StudioError, ValidationError
from studio.project.model import CHUNK_APPROVALS, Chunk, Scene, load_project, save_project
from studio.project.lock import locked_project


def counts_as_approved(chunk: Chunk) -> bool:
    """Approved and still made from the frames it was approved on (ready)."""
    return chunk.approval == "approved" and chunk.status == "ready"


def scene_chunks(scene: Scene) -> list[Chunk]:
    """The chunks that are part of the scene: within its chunk count, and not hidden."""
    return [chunk for chunk in scene.chunks if chunk.status != "hidden" and chunk.index < scene.n_chunks]


def unapproved_chunks(scene: Scene) -> list[int]:
    """Indices of the scene's chunks that do not count as approved (pending, rejected, or not ready)."""
    return [chunk.index for chunk in scene_chunks(scene) if not counts_as_approved(chunk)]


def scene_fully_approved(scene: Scene) -> bool:
    """The scene has chunks and every one of them counts as approved."""
    return bool(scene_chunks(scene)) and not unapproved_chunks(scene)


def approval_note(scene: Scene) -> str:
    """Why a scene is not fully approved, in words (empty when it is)."""
    if scene_fully_approved(scene):
        return ""
    if not scene_chunks(scene):
        return f"scene {scene.id}: no chunks yet; generate it first (`python -m studio generate DIR --scene {scene.id}`)"
    waiting = unapproved_chunks(scene)
    which = f"chunk {waiting[0]} is" if len(waiting) == 1 else f"chunks {', '.join(map(str, waiting))} are"
    if any(scene.chunks[index].status != "ready" for index in waiting):  # approve --all approves ready chunks only
        return (f"scene {scene.id}: {which} not approved and not all ready (remake them with "
                f"`python -m studio generate DIR --scene {scene.id}`, then approve them)")
    return f"scene {scene.id}: {which} not approved (approve with `python -m studio approve DIR --scene {scene.id} --all`)"


def ready_chunks(scene: Scene) -> list[int]:
    """Indices of the scene's ready chunks (what `approve --all` approves)."""
    return [chunk.index for chunk in scene_chunks(scene) if chunk.status == "ready"]


@locked_project  # its load, change and save are one step
def set_approvals(project_dir: Path, scene_id: str, chunk_indices: list[int], approval: str) -> list[Chunk]:
    """Set `approval` on each of the scene's chunks `chunk_indices`, in one save; returns their records.

    Every index is checked before anything changes: a bad one leaves project.json as it was.
    """
    if approval not in CHUNK_APPROVALS:
        raise ValidationError(f"approval {approval!r:.80} must be one of {', '.join(CHUNK_APPROVALS)}")
    project_dir = Path(project_dir)
    project = load_project(project_dir)
    scene = project.script.scene(scene_id)
    if not chunk_indices:
        raise StudioError(f"no chunk given for scene {scene.id!r}; name one with --chunk K, or use --all")
    visible = [chunk.index for chunk in scene_chunks(scene)]
    for index in chunk_indices:
        if isinstance(index, bool) or not isinstance(index, int) or index not in visible:
            have = f"chunks 0-{visible[-1]}" if visible else "no chunks yet"
            raise StudioError(f"scene {scene.id!r} has no chunk {index!r} ({have}); generate it first")
        chunk = scene.chunks[index]
        if approval == "approved" and chunk.status != "ready":
            raise StudioError(f"chunk {index} of scene {scene.id!r} is {chunk.status}; generate the scene again to "
                              "remake it, then approve it")
    for index in chunk_indices:
        scene.chunks[index].approval = approval
    save_project(project, project_dir)
    return [scene.chunks[index] for index in chunk_indices]


def set_approval(project_dir: Path, scene_id: str, chunk_index: int, approval: str) -> Chunk:
    """Approve, reject or clear (pending) one chunk; returns its record."""
    return set_approvals(project_dir, scene_id, [chunk_index], approval)[0]
