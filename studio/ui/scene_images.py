"""Scene images that are there but cannot be read, and the one button that makes them again.

A scene image that is missing is remade by *Remake scene images* (References). One that exists but is
corrupt (a half-copied file, a bad upload) used to stop Generate with advice that no button followed:
both Make references and Remake scene images skip an image that exists. Here the Generate tab names
the button, and that button first removes the unreadable file, so it is remade like a missing one.

Nothing here imports gradio.
"""

from __future__ import annotations

import logging
from pathlib import Path

from studio.errors import StudioError
from studio.project.model import Project
from studio.project.paths import ProjectPaths

logger = logging.getLogger(__name__)

REMAKE_BUTTON = "Remake scene images"  # the References tab's button (references_tab.py)


def _readable(path: Path) -> bool:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()  # the header alone is not enough: a cut file has a good header
        return True
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return False


def unreadable_scene_images(project: Project, project_dir: Path, scene_ids: list[str] | None = None) -> list[str]:
    """Ids of the scenes (of `scene_ids`, default all) whose scene image file exists but is no readable image."""
    paths = ProjectPaths(project_dir)
    found = []
    for scene in project.script.scenes:
        if scene_ids is not None and scene.id not in scene_ids:
            continue
        path = paths.scene_image(scene.id)
        if path.is_file() and not _readable(path):
            found.append(scene.id)
    return found


def check_scene_images(project: Project, project_dir: Path, scene_ids: list[str]) -> None:
    """Before a chunk is made: an unreadable scene image is named with the button that remakes it."""
    broken = unreadable_scene_images(project, project_dir, scene_ids)
    if broken:
        raise StudioError(f"the scene image of {', '.join(broken)} is not a readable image: press "
                          f"{REMAKE_BUTTON} in References to make it again, then generate")


def remove_unreadable_scene_images(project: Project, project_dir: Path) -> list[str]:
    """Delete the unreadable scene image files (the references stage then makes them like missing ones)."""
    paths = ProjectPaths(project_dir)
    broken = unreadable_scene_images(project, project_dir)
    for scene_id in broken:
        paths.scene_image(scene_id).unlink(missing_ok=True)
        logger.info("removed the unreadable scene image of %s to make it again", scene_id)
    return broken
