"""Stage 2, Cast: entity reference images and scene images, with approval.

VideoStudio keeps a video consistent with one reference image per shared entity, reused wherever the
entity appears, and a scene image composed from those references (SPEC §3). Here:

1. An entity reference is text-to-image from the entity's description plus a neutral-background phrase,
   with the entity's own seed. It starts `pending`; the user approves, rejects, regenerates (new seed)
   or uploads their own (which counts as approved).
2. A scene image is the same text-to-image model with IP-Adapter, fed the *approved* references of the
   scene's entities. Choice: one IP-Adapter holding all the scene's references as separate images, each
   with its own scale and mask (diffusers applies per-image scales only together with masks):
   foreground entities first, in the scene's order, at `foreground_scale` (0.5), then background
   entities at `background_scale` (0.33), the VideoStudio-Img strengths. One foreground entity covers
   the whole frame; two or more get side-by-side vertical bands, so they stay separate people instead of
   blending into one. The background covers the whole frame. One adapter means one load, and
   no stand-in images or zero scales for a missing foreground or background.
   A scene with no approved reference is plain text-to-image.

The text-to-image pipeline is the shared cached component; the IP-Adapter is loaded into it once and
swapped in for one scene call at a time under one lock (studio.references.ip_adapter).

Writes are all-or-nothing: images are made in memory, then written (temp file + rename), then
project.json is saved last; on any error the files written so far are put back as they were.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from studio.config import Preset, ReferencesConfig
from studio.errors import StudioError, ValidationError
from studio.media.images import load_rgb, png_bytes
from studio.project.model import CAMERA_MOVES, ENTITY_STATUSES, MAX_SEED, Entity, Project, Scene, Script, load_project, save_project
from studio.project.lock import locked_project
from studio.project.paths import ProjectPaths, atomic_write_bytes
from studio.references.ip_adapter import PIPELINE_LOCK, adapter_installed, ip_adapter_for

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
BACKGROUND_KIND = "background"
BACKGROUND_ENTITY_PHRASE = "wide establishing shot, empty scene, no people"


# ----------------------------------------------------------------------------- prompts and inputs


def entity_prompt(entity: Entity, preset: Preset) -> str:
    """The reference prompt: the entity's description (or name) plus the neutral-background phrase.

    A background entity (a place) gets an empty wide shot instead: "isolated on grey" would erase it.
    """
    text = (entity.description or entity.name).strip()
    phrase = BACKGROUND_ENTITY_PHRASE if entity.kind == BACKGROUND_KIND else preset.references.background_phrase
    return ", ".join(part for part in (text, phrase.strip()) if part)


def scene_prompt(scene: Scene) -> str:
    """The scene image prompt: event + background + camera phrase."""
    parts = [scene.event.strip()]
    background = scene.background.strip()
    if background and background.lower() not in scene.event.lower():
        parts.append(background)
    parts.append(CAMERA_MOVES.get(scene.camera, ""))
    return ", ".join(part for part in parts if part)


@dataclass
class SceneReference:
    """One reference image fed to a scene's IP-Adapter."""

    entity_id: str
    image: Any  # PIL.Image, RGB
    scale: float
    foreground: bool


def scene_references(script: Script, scene: Scene, approved: dict[str, Any], config: ReferencesConfig) -> list[SceneReference]:
    """The references of `scene` in IP-Adapter order: foreground entities (scene order), then backgrounds.

    `approved` maps entity id -> image for the entities whose reference is approved; the others are left out.
    """
    entities = [script.entity(entity_id) for entity_id in scene.entity_ids if entity_id in approved]
    foreground = [e for e in entities if e.kind != BACKGROUND_KIND]
    background = [e for e in entities if e.kind == BACKGROUND_KIND]
    return ([SceneReference(e.id, approved[e.id], config.foreground_scale, True) for e in foreground]
            + [SceneReference(e.id, approved[e.id], config.background_scale, False) for e in background])


def reference_masks(references: list[SceneReference], width: int, height: int) -> list[Any]:
    """One mask (PIL "L", 255 = where the reference applies) per reference, in the same order.

    Two or more foreground references get equal side-by-side vertical bands; a single one and every
    background reference get the whole frame.
    """
    from PIL import Image, ImageDraw

    n_foreground = sum(1 for r in references if r.foreground)
    masks = []
    band = 0
    for reference in references:
        mask = Image.new("L", (width, height), 255)
        if reference.foreground and n_foreground > 1:
            mask = Image.new("L", (width, height), 0)
            left, right = band * width // n_foreground, (band + 1) * width // n_foreground
            ImageDraw.Draw(mask).rectangle((left, 0, right - 1, height - 1), fill=255)
            band += 1
        masks.append(mask)
    return masks


# ----------------------------------------------------------------------------- models


def _check_preset(preset: Preset) -> None:
    r = preset.references
    for name, value in (("width", r.width), ("height", r.height), ("scene_width", r.scene_width), ("scene_height", r.scene_height)):
        if value <= 0 or value % 8:
            raise StudioError(f"{preset.source or preset.name}: references.{name} {value} must be a positive multiple of 8")
    if r.steps < 1:
        raise StudioError(f"{preset.source or preset.name}: references.steps {r.steps} must be at least 1")
    if preset.models.backend != "animatic" and not preset.models.text_to_image.strip():
        raise StudioError(f"preset {preset.name!r} has no text-to-image model (models.text_to_image is empty); "
                          "set one, e.g. stable-diffusion-v1-5/stable-diffusion-v1-5, or use --preset animatic")


def _text_to_image(preset: Preset) -> Any:
    from studio.models.cache import get_component

    from studio.models.memory import enter_stage

    pipe = get_component(preset, "text_to_image")
    enter_stage(preset, "references")
    pipe.set_progress_bar_config(disable=True)  # the stage reports progress itself
    return pipe


def _generator(seed: int) -> Any:
    import torch

    # A CPU generator gives the same starting noise on every device.
    return torch.Generator(device="cpu").manual_seed(seed)


def _render_entity(preset: Preset, entity: Entity, prompt: str) -> Any:
    r = preset.references
    if preset.models.backend == "animatic":
        from studio.animatic import render_entity_card

        return render_entity_card(entity, r.width, r.height, entity.seed).convert("RGB")
    pipe = _text_to_image(preset)
    with PIPELINE_LOCK:
        result = pipe(prompt=prompt, negative_prompt=r.negative_prompt or None, num_inference_steps=r.steps,
                      guidance_scale=r.guidance, width=r.width, height=r.height, generator=_generator(entity.seed))
    return result.images[0].convert("RGB")


def _render_scene(preset: Preset, script: Script, scene: Scene, references: list[SceneReference]) -> Any:
    r = preset.references
    if preset.models.backend == "animatic":
        from studio.animatic import render_scene_image

        images = {ref.entity_id: ref.image for ref in references}
        return render_scene_image(script, scene, images, r.scene_width, r.scene_height, scene.seed).convert("RGB")
    pipe = _text_to_image(preset)
    kwargs = dict(prompt=scene_prompt(scene), negative_prompt=r.negative_prompt or None, num_inference_steps=r.steps,
                  guidance_scale=r.guidance, width=r.scene_width, height=r.scene_height)
    if not references:
        with PIPELINE_LOCK:
            return pipe(**kwargs, generator=_generator(scene.seed)).images[0].convert("RGB")
    adapter = ip_adapter_for(preset, pipe)  # before the lock: loading it takes the lock itself
    masks = _mask_tensor(reference_masks(references, r.scene_width, r.scene_height), r.scene_width, r.scene_height)
    with PIPELINE_LOCK, adapter_installed(pipe, adapter):
        # One adapter, one scale per reference image (diffusers: a list of scales per adapter needs masks).
        pipe.set_ip_adapter_scale([[ref.scale for ref in references]])
        result = pipe(**kwargs, generator=_generator(scene.seed), ip_adapter_image=[[ref.image for ref in references]],
                      cross_attention_kwargs={"ip_adapter_masks": [masks]})
    return result.images[0].convert("RGB")


def _mask_tensor(masks: list[Any], width: int, height: int) -> Any:
    from diffusers.image_processor import IPAdapterMaskProcessor

    tensor = IPAdapterMaskProcessor().preprocess(masks, height=height, width=width)  # (n, 1, H, W)
    return tensor.reshape(1, tensor.shape[0], tensor.shape[2], tensor.shape[3])  # (1, n, H, W): one adapter, n images


# ----------------------------------------------------------------------------- the stage


@locked_project  # held throughout: the images are made from the script read here, saved with it
def make_references(project_dir: Path, preset: Preset, *, entity_id: str | None = None, seed: int | None = None,
                    approve: bool = False, scenes_only: bool = False, progress: Progress | None = None) -> Project:
    """Make every missing entity reference, then every missing scene image (or regenerate one entity).

    `scenes_only` makes only the missing scene images (after a reference was approved, rejected or
    replaced). A scene whose image is made again has its chunks marked stale: they were made from the old one.

    With `entity_id`, that entity's reference is made again with `seed` (default: its seed + 1, recorded
    in entity.seed) and the images of the scenes that use it are remade. `approve` marks the references
    made here approved (the batch `run`, where nobody reviews them). Returns the saved project.
    """
    project_dir = Path(project_dir)
    project = load_project(project_dir)
    paths = ProjectPaths(project_dir)
    script = project.script
    _check_preset(preset)
    report = progress or (lambda fraction, message: None)

    # 1. What to make.
    if entity_id is not None:
        entity = script.entity(entity_id)
        entity.seed = _check_seed(entity.seed + 1 if seed is None else seed)
        entity_jobs = [entity]
        scene_jobs = [s for s in script.scenes if entity.id in s.entity_ids]
    else:
        if seed is not None:
            raise StudioError(f"seed {seed} applies only when regenerating one entity: choose the entity "
                              "(CLI: --entity ID) or leave the seed empty")
        entity_jobs = [] if scenes_only else [e for e in script.entities if not _exists(paths.entity_image(e.id))]
        # A scene is remade when its image is missing, or when one of its approved references is new.
        renewed = {e.id for e in entity_jobs} if approve else set()
        scene_jobs = [s for s in script.scenes
                      if not _exists(paths.scene_image(s.id)) or renewed.intersection(s.entity_ids)]
    total = max(1, len(entity_jobs) + len(scene_jobs))
    staged: dict[Path, bytes] = {}

    # 2. Entity references, in memory.
    for done, entity in enumerate(entity_jobs):
        report(done / total, f"reference of {entity.id}")
        prompt = entity_prompt(entity, preset)
        image = _render_entity(preset, entity, prompt)
        path = paths.entity_image(entity.id)
        staged[path] = png_bytes(image)
        entity.ref_prompt = prompt
        entity.status = "approved" if approve else "pending"

    # 3. Scene images from the references as they will be once this call is saved.
    approved = _approved_images(script, paths, staged, preset) if scene_jobs else {}
    for done, scene in enumerate(scene_jobs, start=len(entity_jobs)):
        report(done / total, f"scene image of {scene.id}")
        scene_refs = scene_references(script, scene, approved, preset.references)
        logger.info("scene %s: references %s", scene.id, [(ref.entity_id, ref.scale) for ref in scene_refs])
        path = paths.scene_image(scene.id)
        staged[path] = png_bytes(_render_scene(preset, script, scene, scene_refs))
        _mark_made_from_old_image(paths, scene)

    # 4. Files, then project.json.
    _commit(project_dir, project, staged)
    report(1.0, f"{len(entity_jobs)} references, {len(scene_jobs)} scene images")
    return project


@locked_project
def set_entity_status(project_dir: Path, entity_id: str, status: str) -> Project:
    """Approve, reject or reset an entity's reference; scene images it feeds (or fed) are cleared to be remade."""
    project_dir = Path(project_dir)
    project = load_project(project_dir)
    paths = ProjectPaths(project_dir)
    entity = project.script.entity(entity_id)
    if status not in ENTITY_STATUSES:
        raise ValidationError(f"status {status!r} must be one of {', '.join(ENTITY_STATUSES)}")
    if status == "approved" and not _exists(paths.entity_image(entity.id)):
        raise StudioError(f"entity {entity_id!r} has no reference image yet; make one with `refs` or upload one")
    # Approved references feed the scene images; rejected ones are left out of them (the animatic draws
    # every other cast member): either change outdates the images of its scenes.
    feeds_scenes_changed = any((entity.status == kept) != (status == kept) for kept in ("approved", "rejected"))
    entity.status = status
    stale = _clear_scene_images(project, paths, entity.id) if feeds_scenes_changed else []
    _commit(project_dir, project, {}, remove=stale)
    return project


@locked_project
def upload_entity_image(project_dir: Path, entity_id: str, source: Any, *, preset: Preset | None = None) -> Project:
    """Use the user's own image as an entity's reference: checked, stored as RGB PNG, approved.

    `source` is a path, bytes or a PIL image. The size limit is the preset's (default: the project's).
    The images of the scenes that use the entity are cleared, to be remade from the new reference.
    """
    project_dir = Path(project_dir)
    project = load_project(project_dir)
    paths = ProjectPaths(project_dir)
    entity = project.script.entity(entity_id)
    image = load_rgb(source, _upload_limit(project, preset), name=f"the upload for {entity_id!r}")
    path = paths.entity_image(entity.id)
    entity.ref_prompt, entity.status = "", "approved"
    stale = _clear_scene_images(project, paths, entity.id)
    _commit(project_dir, project, {path: png_bytes(image)}, remove=stale)
    return project


# ----------------------------------------------------------------------------- helpers


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ValidationError(f"seed {seed!r} must be a whole number from 0 to {MAX_SEED}")
    return seed


def _exists(path: Path) -> bool:
    """Whether the image is there and readable: a corrupt one counts as missing, so it is made again."""
    if not path.is_file():
        return False
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return False
    return True


def _upload_limit(project: Project, preset: Preset | None) -> int:
    if preset is None:
        from studio.config import load_named_preset

        try:
            preset = load_named_preset(project.preset)  # never a YAML path: the project may come from an archive
        except StudioError:
            return ReferencesConfig().max_upload_pixels
    return preset.references.max_upload_pixels


def _approved_images(script: Script, paths: ProjectPaths, staged: dict[Path, bytes], preset: Preset) -> dict[str, Any]:
    """Entity id -> RGB image of every approved reference (a just-made one from memory, else from disk)."""
    from PIL import Image

    images = {}
    for entity in script.entities:
        if entity.status != "approved":
            continue
        path = paths.entity_image(entity.id)
        just_made = staged.get(path)
        if just_made is not None:
            images[entity.id] = Image.open(io.BytesIO(just_made)).convert("RGB")
        elif path.is_file():
            images[entity.id] = load_rgb(path, preset.references.max_upload_pixels, name=f"the reference of {entity.id!r}")
        else:
            logger.warning("entity %s is approved but %s is missing; its scenes are made without it", entity.id, path)
    return images


def _mark_made_from_old_image(paths: ProjectPaths, scene) -> None:
    """The scene's chunks (and so its refined video) were made from its previous image."""
    for chunk in scene.chunks:
        if chunk.status in ("ready", "hidden"):  # hidden ones too: a raised count must not show them as they are
            chunk.status = "stale"
    scene.refined_outdated = scene.refined_outdated or paths.refined(scene.id).is_file()


def _clear_scene_images(project: Project, paths: ProjectPaths, entity_id: str) -> list[Path]:
    """The images of the scenes that use `entity_id` (removed before the save: a missing one is remade)."""
    return [paths.scene_image(scene.id) for scene in project.script.scenes
            if entity_id in scene.entity_ids and paths.scene_image(scene.id).is_file()]


def _commit(project_dir: Path, project: Project, staged: dict[Path, bytes], remove: list[Path] = ()) -> None:
    """Remove the stale images `remove` (a missing scene image is remade: a kill after this is safe), write
    `staged` files, then project.json; on a failure put every staged file back as it was."""
    for path in remove:
        path.unlink(missing_ok=True)
    backups = {path: (path.read_bytes() if path.is_file() else None) for path in staged}
    try:
        for path, data in staged.items():
            atomic_write_bytes(path, data)
        save_project(project, project_dir)
    except BaseException:
        for path, previous in backups.items():
            try:
                if previous is None:
                    path.unlink(missing_ok=True)
                else:
                    atomic_write_bytes(path, previous)
            except OSError:
                logger.exception("could not restore %s", path)
        raise
