"""What in a project is out of date, said so a person can act on it.

The stages record what they made from what: a script edit marks a scene's chunks stale and its
refined video outdated (plan/tables.py), a new chunk marks the refined video outdated (generate), a
reference that is approved, rejected or replaced clears the scene images made from it (references).
These functions read that record; export, generate and the studio use them, so every place that
shows a project says the same thing about it.
"""

from __future__ import annotations

from pathlib import Path

from studio.project.model import Project, Scene
from studio.project.paths import ProjectPaths




def _chunk_list(indices: list[int]) -> str:
    return ", ".join(map(str, indices))


def references_made(project: Project, project_dir: Path) -> bool:
    """Whether the references stage has run (an entity has a reference image)."""
    paths = ProjectPaths(project_dir)
    return any(paths.entity_image(entity.id).is_file() for entity in project.script.entities)


def scene_image_outdated(project: Project, project_dir: Path, scene: Scene) -> bool:
    """The scene has no scene image although references exist: it was cleared by a reference change."""
    return references_made(project, project_dir) and not ProjectPaths(project_dir).scene_image(scene.id).is_file()


def scenes_needing_images(project: Project, project_dir: Path) -> list[str]:
    """Ids of the scenes whose scene image must be made (again) before they are generated."""
    return [s.id for s in project.script.scenes if scene_image_outdated(project, project_dir, s)]


def anchor_note(project: Project, project_dir: Path, scene: Scene) -> str:
    """Which image generation holds the scene to (the APM anchor), in one line."""
    if ProjectPaths(project_dir).scene_image(scene.id).is_file():
        return "anchor: its scene image"
    advice = "; make its scene image in References to hold the scene to it" if references_made(project, project_dir) else ""
    return f"anchor: frame 0 of chunk 0 (no scene image{advice})"


def refined_is_current(project_dir: Path, scene: Scene) -> bool:
    """A refined video exists and was made from the chunks as they are now."""
    return ProjectPaths(project_dir).refined(scene.id).is_file() and not scene.refined_outdated


def scene_findings(project: Project, project_dir: Path, scene: Scene) -> list[str]:
    """Everything stale about one scene, one line each (empty: it is up to date)."""
    findings = []
    not_ready = [chunk.index for chunk in scene.chunks if chunk.status not in ("ready", "hidden")]  # hidden: past the count
    if not_ready:
        findings.append(f"scene {scene.id}: chunks {_chunk_list(not_ready)} are stale (the scene or an earlier "
                        "chunk changed); generate the scene again to remake them")
    elif scene.chunks and len(scene.chunks) < scene.n_chunks:
        findings.append(f"scene {scene.id}: {len(scene.chunks)} of {scene.n_chunks} chunks are made; "
                        "generate the scene to finish it")
    if scene.refined_outdated and ProjectPaths(project_dir).refined(scene.id).is_file():
        findings.append(f"scene {scene.id}: its refined video is older than its chunks, so the draft is used; "
                        "refine the scene again")
    if scene.chunks and scene_image_outdated(project, project_dir, scene):
        findings.append(f"scene {scene.id}: its scene image is outdated (a reference changed); "
                        "remake the scene images, then generate the scene again")
    return findings


def stale_findings(project: Project, project_dir: Path) -> list[str]:
    """Everything stale in the project, scene by scene, one line each."""
    return [line for scene in project.script.scenes for line in scene_findings(project, Path(project_dir), scene)]
