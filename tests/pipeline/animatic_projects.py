"""Small projects on the animatic preset (no models, 32x32): fast enough to make in every test.

Import the fixtures into a test module (`from tests.pipeline.animatic_projects import animatic32, animatic32_file`).
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest
import yaml

from studio.config import PRESETS_DIR, load_preset
from studio.generate.stage import generate_scene
from studio.project.model import Entity, Scene, Script, new_project, save_project


@pytest.fixture(scope="session")
def animatic32_file(tmp_path_factory):
    """The animatic preset at 32x32 as a file (the CLI takes --preset PATH)."""
    data = yaml.safe_load((PRESETS_DIR / "animatic.yaml").read_text())
    data["streaming"].update(width=32, height=32, max_chunks=4)
    data["references"].update(width=32, height=32, scene_width=32, scene_height=32)
    data["refine"].update(width=64, height=64)
    path = tmp_path_factory.mktemp("preset") / "animatic32.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="session")
def animatic32(animatic32_file):
    return load_preset(animatic32_file)


def two_scenes(path: Path, preset, chunks: int = 3) -> Path:
    """Scenes s1 and s2 (a fox in both, an owl in s2), references made and approved, `chunks` chunks each."""
    from studio.references.stage import make_references

    entities = [Entity(id="fox", name="fox", description="a red fox"), Entity(id="owl", name="owl", description="an owl")]
    scenes = [Scene(id="s1", title="fox", event="a fox runs", entity_ids=["fox"], n_chunks=chunks, seed=3),
              Scene(id="s2", title="owl", event="an owl hoots", entity_ids=["fox", "owl"], n_chunks=chunks, seed=5)]
    save_project(new_project("p", "animatic", Script(prompt="a fox and an owl", scenes=scenes, entities=entities)), path)
    make_references(path, preset, approve=True)
    for scene in ("s1", "s2"):
        list(generate_scene(path, preset, scene))
    return path


def three_takes(path: Path, preset) -> Path:
    """two_scenes, then chunk 1 of s1 remade twice: takes 1 and 2 stored, take 3 active."""
    from studio.generate.stage import regenerate_chunk

    two_scenes(path, preset)
    for word in ("jumps", "sleeps"):  # the animatic ignores seeds; a new prompt is a new caption
        regenerate_chunk(path, preset, "s1", 1, prompt=f"the fox {word}")
    return path


def with_max_takes(preset, max_takes: int):
    return dataclasses.replace(preset, streaming=dataclasses.replace(preset.streaming, max_takes=max_takes))


def tree(path: Path) -> dict[str, tuple[str, int, int]]:
    """Every file under `path` (the lock files aside): its hash, inode and modification time."""
    found = {}
    for file in sorted(path.rglob("*")):
        if file.is_file() and not file.name.endswith(".lock"):
            stat = file.stat()
            found[file.relative_to(path).as_posix()] = (hashlib.sha256(file.read_bytes()).hexdigest(), stat.st_ino,
                                                        stat.st_mtime_ns)
    return found


def changed(before: dict, after: dict) -> set[str]:
    """Files written, created or removed between two `tree`s."""
    return {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}
