"""Frames of a scene: the picture (the scene image, or background + cards composed from the text),
viewed through the camera move, with the event as a caption and a small label saying it is an animatic."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

import cv2
import numpy as np
from PIL import Image

from studio.animatic.camera import canvas_scale, layer_poses, scene_progress, warp
from studio.animatic.cards import compose_layers, scene_text
from studio.animatic.scenery import choose_look, draw_weather
from studio.animatic.text import caption_overlay, composite, draw_labels
from studio.config import Preset
from studio.errors import StudioError
from studio.project.model import CAMERA_MOVES, Scene, Script

logger = logging.getLogger(__name__)

LABEL = "ANIMATIC"
_LAYER_CACHE: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()
_LAYER_CACHE_SIZE = 8
_LAYER_LOCK = threading.Lock()


def scene_length_frames(preset: Preset, scene: Scene) -> int:
    """Frames in the scene as planned: 16 for the first chunk, 8 new ones per chunk after it."""
    frames, context = preset.streaming.frames_per_chunk, preset.streaming.context_frames
    return frames + (frames - context) * (max(1, scene.n_chunks) - 1)


def chunk_frame_numbers(preset: Preset, chunk_index: int) -> range:
    """Scene frame numbers of the NEW frames of chunk `chunk_index`."""
    frames, context = preset.streaming.frames_per_chunk, preset.streaming.context_frames
    if chunk_index == 0:
        return range(frames)
    start = frames + (frames - context) * (chunk_index - 1)
    return range(start, start + frames - context)


def caption_text(prompt: str, camera: str) -> str:
    """The caption: the chunk's prompt without the camera phrase the label already shows."""
    text = " ".join((prompt or "").split())
    phrase = CAMERA_MOVES.get(camera, "")
    if phrase and text.lower().startswith(phrase):
        text = text[len(phrase):].lstrip(" ,;")
    elif phrase and text.lower().endswith(phrase):  # chunks made before the camera phrase came first
        text = text[: -len(phrase)].rstrip(" ,;")
    return text


def _check(preset: Preset, scene: Scene, anchor: np.ndarray | None) -> np.ndarray | None:
    if scene.camera not in CAMERA_MOVES:
        raise StudioError(f"scene {scene.id}: camera {scene.camera!r} is not a known move; use one of: "
                          f"{', '.join(CAMERA_MOVES)}")
    if preset.streaming.width < 16 or preset.streaming.height < 16:
        raise StudioError(f"preset {preset.name}: frame size {preset.streaming.width}x{preset.streaming.height} "
                          "is too small for an animatic; use at least 16x16")
    if anchor is None:
        return None
    anchor = np.asarray(anchor)
    if anchor.ndim != 3 or anchor.shape[2] not in (3, 4) or min(anchor.shape[:2]) < 1:
        raise StudioError(f"scene {scene.id}: the scene image has shape {anchor.shape}; expected (height, width, 3)")
    if anchor.dtype != np.uint8:
        scale = 255.0 if anchor.dtype.kind == "f" and float(anchor.max(initial=0)) <= 1.0 else 1.0
        anchor = np.clip(anchor.astype(np.float32) * scale, 0, 255).round().astype(np.uint8)
    return np.ascontiguousarray(anchor[..., :3])


def _scene_key(script: Script, scene: Scene) -> tuple:
    entities = {e.id: (e.name, e.description, e.kind, e.status == "rejected") for e in script.entities}
    return (scene.background, scene.event, scene.title, scene.seed, tuple(scene.entity_ids),
            tuple(entities.get(i) for i in scene.entity_ids))


def _composed_layers(script: Script, scene: Scene, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Background and card layers drawn from the text, cached: every chunk of a scene reuses them."""
    key = (_scene_key(script, scene), size)
    with _LAYER_LOCK:
        if key in _LAYER_CACHE:
            _LAYER_CACHE.move_to_end(key)
            return _LAYER_CACHE[key]
    background, cards = compose_layers(script, scene, {}, size[0], size[1], scene.seed)
    background.setflags(write=False)
    cards.setflags(write=False)
    with _LAYER_LOCK:
        _LAYER_CACHE[key] = (background, cards)
        while len(_LAYER_CACHE) > _LAYER_CACHE_SIZE:
            _LAYER_CACHE.popitem(last=False)
    return background, cards


def render_frames(preset: Preset, script: Script, scene: Scene, frame_numbers: range | list[int],
                  anchor: np.ndarray | None, prompt: str) -> np.ndarray:
    """Scene frames `frame_numbers` as uint8 (T, H, W, 3). With `anchor` (the scene image) the picture is
    that image, moved as one flat layer; without it, background and cards are composed from the text
    and moved as two layers."""
    anchor = _check(preset, scene, anchor)
    width, height = preset.streaming.width, preset.streaming.height
    # 1. The canvas the camera looks at: larger than the frame when the view must travel.
    scale = canvas_scale(scene.camera)
    canvas_size = (round(width * scale), round(height * scale))
    if anchor is not None:
        interpolation = cv2.INTER_AREA if anchor.shape[1] > canvas_size[0] else cv2.INTER_CUBIC
        background = anchor if anchor.shape[1::-1] == canvas_size else cv2.resize(anchor, canvas_size, interpolation=interpolation)
        cards = None
    else:
        background, cards = _composed_layers(script, scene, canvas_size)
    # 2. What stays the same on every frame: the caption and the scene's length.
    caption = caption_overlay(caption_text(prompt, scene.camera), width, height)  # (H, W, 4)
    weather = choose_look(*scene_text(script, scene)).weather
    total = scene_length_frames(preset, scene)
    fps = max(1, preset.streaming.fps)
    frames = []
    for number in frame_numbers:
        # 3. Move each layer to its pose for this frame and stack them.
        bg_pose, cards_pose = layer_poses(scene.camera, scene_progress(number, total), number, cards is not None)
        frame = warp(background, bg_pose, (width, height))  # (H, W, 3)
        if cards is not None:
            frame = composite(frame, warp(cards, cards_pose, (width, height), transparent_border=True))
        # 4. The overlays: weather in front of the picture, the caption, the label with the move and the time.
        frame = draw_weather(frame, weather, number, scene.seed)
        frame = composite(frame, caption)
        frame = draw_labels(frame, LABEL, f"{scene.camera}  {number / fps:4.1f}s")
        frames.append(frame)
    return np.stack(frames) if frames else np.zeros((0, height, width, 3), np.uint8)  # (T, H, W, 3)


def render_chunk(preset: Preset, script: Script, scene: Scene, chunk_index: int, context_frames: np.ndarray | None,
                 anchor: np.ndarray | None, seed: int, prompt: str) -> np.ndarray:
    """The NEW frames of chunk `chunk_index` of `scene` as uint8 (T, H, W, 3): frames_per_chunk frames for
    chunk 0, frames_per_chunk - context_frames after it, continuing the camera move without a seam.

    The animatic is a pure function of the scene and the frame number, so `context_frames` is not
    needed, and `seed` does not change the picture (the layout follows scene.seed): a chunk rendered
    again with a new seed matches its neighbours; a new `prompt` changes its caption.
    """
    if isinstance(chunk_index, bool) or not isinstance(chunk_index, (int, np.integer)) or chunk_index < 0:
        raise StudioError(f"scene {scene.id}: chunk index {chunk_index!r} must be a whole number >= 0")
    logger.debug("animatic: scene %s chunk %d seed %d", scene.id, chunk_index, seed)
    return render_frames(preset, script, scene, chunk_frame_numbers(preset, int(chunk_index)), anchor, prompt)


def frames_to_image(frames: np.ndarray, columns: int = 4) -> Image.Image:
    """A contact sheet of frames (T, H, W, 3), `columns` across: for review and the README."""
    count, height, width = frames.shape[:3]
    rows = -(-count // columns)
    sheet = np.full((rows * (height + 4) + 4, columns * (width + 4) + 4, 3), 255, np.uint8)
    for index, frame in enumerate(frames):
        row, column = divmod(index, columns)
        sheet[4 + row * (height + 4): 4 + row * (height + 4) + height, 4 + column * (width + 4): 4 + column * (width + 4) + width] = frame
    return Image.fromarray(sheet)
