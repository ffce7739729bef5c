"""Where a test finds a chunk's files: computed from ids (paths.py), as the studio does; never from a record."""

from __future__ import annotations

from pathlib import Path

from studio.project.model import load_project
from studio.project.paths import ProjectPaths


def chunk_npz(project_dir, scene_id: str, index: int) -> Path:
    """The frames of chunk `index`'s active take, as project.json on disk says now."""
    chunk = load_project(project_dir).script.scene(scene_id).chunks[index]
    return ProjectPaths(project_dir).chunk_frames(scene_id, chunk)


def chunk_mp4(project_dir, scene_id: str, index: int) -> Path:
    chunk = load_project(project_dir).script.scene(scene_id).chunks[index]
    return ProjectPaths(project_dir).chunk_preview(scene_id, chunk)


def take_npz(project_dir, scene_id: str, index: int, take: int) -> Path:
    return ProjectPaths(project_dir).take_frames(scene_id, index, take)


def take_mp4(project_dir, scene_id: str, index: int, take: int) -> Path:
    return ProjectPaths(project_dir).take_preview(scene_id, index, take)


def to_version_1(project_dir) -> None:
    """Turn a project into the layout of version 1 (what the studio wrote before chunk versions had paths of
    ids): the active take at scenes/<scene>/chunk_003.npz/.mp4, the others at takes/chunk_003/take_NN.*, the
    records holding those paths. The migration tests start from this."""
    import json
    import os

    from studio.project.model import project_to_dict
    from studio.project.paths import ProjectPaths

    project_dir = Path(project_dir)
    paths = ProjectPaths(project_dir)
    data = project_to_dict(load_project(project_dir))
    for scene in data["script"]["scenes"]:
        folder = paths.scene_dir(scene["id"])
        for chunk in scene["chunks"]:
            k = chunk["index"]
            chunk["frames"], chunk["preview"] = f"scenes/{scene['id']}/chunk_{k:03d}.npz", f"scenes/{scene['id']}/chunk_{k:03d}.mp4"
            for kind in ("npz", "mp4"):
                os.replace(paths.take_file(scene["id"], k, chunk["take"], kind), folder / f"chunk_{k:03d}.{kind}")
            for take in chunk["takes"]:
                old = folder / "takes" / f"chunk_{k:03d}"
                old.mkdir(parents=True, exist_ok=True)
                take["frames"] = f"scenes/{scene['id']}/takes/chunk_{k:03d}/take_{take['number']:02d}.npz"
                take["preview"] = f"scenes/{scene['id']}/takes/chunk_{k:03d}/take_{take['number']:02d}.mp4"
                for kind in ("npz", "mp4"):
                    os.replace(paths.take_file(scene["id"], k, take["number"], kind), old / f"take_{take['number']:02d}.{kind}")
            paths.chunk_dir(scene["id"], k).rmdir()
        (folder / "chunks").rmdir()
        scene["draft"] = f"scenes/{scene['id']}/draft.mp4"
        paths.draft_stamp(scene["id"]).unlink(missing_ok=True)
    data["version"] = 1
    (project_dir / "project.json").write_text(json.dumps(data), encoding="utf-8")
