"""The camera moves as real transforms: each frame looks at a window of a larger canvas (centre, zoom,
roll), and the window travels over the scene. Two layers (background, entity cards) may move
differently, which gives dolly, orbit and tracking their parallax.

The move is a function of the frame number within the scene only, so chunk k's frames are exactly the
frames a single long render would have at those positions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from studio.project.model import CAMERA_MOVES

PAN_ZOOM = 1.4  # pans look through a window of 1/1.4 of the canvas: 1 canvas pixel per output pixel
PAN_TRAVEL = 0.95 * (1.0 - 1.0 / PAN_ZOOM) / 2.0  # how far the window centre may travel each way
SUBJECT_FOCUS = (0.5, 0.49)  # where the cards stand on the canvas (normalised); dollies move toward it
ORBIT_DEGREES = 25.0


@dataclass(frozen=True)
class Pose:
    """Where a layer's view window sits on its canvas, in canvas-normalised coordinates."""

    cx: float = 0.5
    cy: float = 0.5
    zoom: float = 1.0  # 1 = the whole canvas fills the frame; 2 = half of it does
    roll_degrees: float = 0.0
    squash: float = 1.0  # < 1 narrows the content horizontally (an orbit turning the subject)


def canvas_scale(move: str) -> float:
    """How much larger than the frame the canvas is drawn: moving views need room; a static one does not."""
    return 1.0 if move == "static" else PAN_ZOOM


def scene_progress(frame: int, total_frames: int) -> float:
    """Eased position of `frame` in the move, 0 at the scene's first frame and 1 at its last; frames past
    the planned length (more chunks than scene.n_chunks) swing back rather than leave the canvas."""
    if total_frames <= 1:
        return 0.0
    u = (frame / (total_frames - 1)) % 2.0
    u = 2.0 - u if u > 1.0 else u
    smooth = u * u * (3.0 - 2.0 * u)
    # Mostly linear so every frame moves, with eased ends so the move starts and settles gently.
    return 0.7 * u + 0.3 * smooth


def _zoom_about(focus: tuple[float, float], zoom: float) -> tuple[float, float]:
    """The window centre that keeps `focus` where it is on screen at zoom 1."""
    return focus[0] - (focus[0] - 0.5) / zoom, focus[1] - (focus[1] - 0.5) / zoom


def _lerp(a: float, b: float, t: float) -> float:
    return a + (b - a) * t


def layer_poses(move: str, t: float, frame: int, layered: bool) -> tuple[Pose, Pose]:
    """(background pose, cards pose) for `move` at eased progress t. Flat pictures (a scene image)
    use the background pose alone, so their dolly / orbit / tracking are single-layer versions."""
    s = 2.0 * t - 1.0  # -1 .. 1 across the scene
    if move == "static":
        pose = Pose()
        return pose, pose
    if move in ("pan left", "pan right", "tilt up", "tilt down"):
        sign = 1.0 if move in ("pan right", "tilt down") else -1.0
        offset = 0.5 + sign * PAN_TRAVEL * s
        pose = Pose(cx=offset, zoom=PAN_ZOOM) if move.startswith("pan") else Pose(cy=offset, zoom=PAN_ZOOM)
        return pose, pose
    if move in ("zoom in", "zoom out"):
        zoom = _lerp(1.0, 1.8, t if move == "zoom in" else 1.0 - t)
        pose = Pose(zoom=zoom)
        return pose, pose
    if move in ("dolly in", "dolly out"):
        d = t if move == "dolly in" else 1.0 - t
        if not layered:
            zoom = _lerp(1.0, 1.7, d)
            pose = Pose(*_zoom_about(SUBJECT_FOCUS, zoom), zoom=zoom)
            return pose, pose
        # Near things grow faster than far ones when the camera itself travels.
        bg_zoom, fg_zoom = _lerp(1.0, 1.25, d), _lerp(1.0, 1.9, d)
        return (Pose(*_zoom_about(SUBJECT_FOCUS, bg_zoom), zoom=bg_zoom),
                Pose(*_zoom_about(SUBJECT_FOCUS, fg_zoom), zoom=fg_zoom))
    if move == "orbit":
        angle = math.radians(ORBIT_DEGREES) * s
        side = math.sin(angle) / math.sin(math.radians(ORBIT_DEGREES))  # -1 .. 1
        if not layered:
            pose = Pose(cx=0.5 + PAN_TRAVEL * 0.8 * side, zoom=PAN_ZOOM * 1.05, roll_degrees=2.5 * side)
            return pose, pose
        # The far background slides one way, the subject the other, and turns (narrows) at the ends.
        return (Pose(cx=0.5 + PAN_TRAVEL * side, zoom=PAN_ZOOM),
                Pose(cx=0.5 - 0.5 * PAN_TRAVEL * side, zoom=PAN_ZOOM, squash=0.85 + 0.15 * math.cos(angle * 2.0)))
    if move == "tracking":
        # A walking camera bobs with a two-step (8-frame) period, keyed to the frame number.
        bob = 0.006 * math.sin(frame * 2.0 * math.pi / 8.0)
        background = Pose(cx=0.5 + PAN_TRAVEL * s, cy=0.5 + bob, zoom=PAN_ZOOM)
        return background, (Pose(cy=0.5 + bob * 0.5, zoom=PAN_ZOOM) if layered else background)
    raise ValueError(f"camera move {move!r} is not one of {', '.join(CAMERA_MOVES)}")


def pose_matrix(pose: Pose, canvas_size: tuple[int, int], frame_size: tuple[int, int]) -> np.ndarray:
    """The 2x3 affine map from output pixel (u, v) to canvas pixel (x, y) for cv2's WARP_INVERSE_MAP."""
    canvas_w, canvas_h = canvas_size
    width, height = frame_size
    scale_x = canvas_w / (width * pose.zoom) / pose.squash
    scale_y = canvas_h / (height * pose.zoom)
    cos, sin = math.cos(math.radians(pose.roll_degrees)), math.sin(math.radians(pose.roll_degrees))
    linear = np.array([[cos, -sin], [sin, cos]]) @ np.diag([scale_x, scale_y])  # (2, 2)
    # Pixel centres: output (u + 0.5) maps to canvas (x + 0.5); identity when the canvas is the frame.
    offset = np.array([pose.cx * canvas_w - 0.5, pose.cy * canvas_h - 0.5]) + linear @ np.array([0.5 - width / 2, 0.5 - height / 2])
    return np.hstack([linear, offset[:, None]]).astype(np.float64)  # (2, 3)


def warp(canvas: np.ndarray, pose: Pose, frame_size: tuple[int, int], transparent_border: bool = False) -> np.ndarray:
    """The frame a pose sees: canvas (h, w, C) -> (H, W, C). Cards outside their layer are transparent;
    a background shows its mirrored edge if a roll reaches past the canvas."""
    height, width = canvas.shape[:2]
    if pose == Pose() and (width, height) == tuple(frame_size):
        return canvas.copy()  # the static view is the picture itself, bit for bit
    matrix = pose_matrix(pose, (width, height), frame_size)
    border = cv2.BORDER_CONSTANT if transparent_border else cv2.BORDER_REFLECT
    return cv2.warpAffine(canvas, matrix, tuple(frame_size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=border, borderValue=0)
