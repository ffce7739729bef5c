"""A two-scene project made once with the tiny models at 16x16 and 2 steps, for the approval and batch tests.

Import the fixtures into a test module (`from tests.pipeline.small_projects import generated, small_preset,
small_preset_file`); each test works on its own copy (`copy_of`).
"""

from __future__ import annotations

import hashlib
import shutil

import pytest
import yaml

from studio.config import PRESETS_DIR, load_preset
from studio.generate.stage import generate_project
from studio.project.model import Scene, Script, new_project, save_project


@pytest.fixture(scope="session")
def small_preset_file(tmp_path_factory):
    """The tiny preset as a file (the CLI takes --preset PATH): seeds matter as in a real run, a chunk takes a blink."""
    data = yaml.safe_load((PRESETS_DIR / "tiny.yaml").read_text())
    data["streaming"].update(width=16, height=16, steps=2)
    data["refine"].update(width=32, height=32, steps=2)
    data["first_chunk"].update(unet="streaming")  # one UNet to build instead of two: these tests are not about chunk 0
    path = tmp_path_factory.mktemp("preset") / "tiny16.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="session")
def small_preset(small_preset_file):
    return load_preset(small_preset_file)


@pytest.fixture(scope="session")
def generated(tmp_path_factory, small_preset):
    """Scenes s0 and s1, two ready chunks each (every chunk pending approval)."""
    path = tmp_path_factory.mktemp("generated") / "p"
    scenes = [Scene(id=f"s{i}", title=f"s{i}", event=f"a fox runs {i}", background="a forest", n_chunks=2, seed=3 + i)
              for i in range(2)]
    save_project(new_project("p", "tiny", Script(prompt="a fox", scenes=scenes)), path)
    list(generate_project(path, small_preset))
    return path


def copy_of(generated, tmp_path, name: str = "p"):
    return shutil.copytree(generated, tmp_path / name)


def snapshot(folder) -> dict[str, str]:
    """Every file of a folder and its digest: what "nothing changed on disk" is checked against."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}
