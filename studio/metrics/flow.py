"""Optical flow helpers (OpenCV; no torchvision), shared by the seam score and the metrics.

Flow is computed on grayscale uint8 frames with OpenCV's DIS optical flow (medium preset), a dense
method that is fast on a CPU; when DIS is missing from the OpenCV build, Farneback is used instead.
Values are in pixels per frame, on another scale than the paper's RAFT numbers.
"""

from __future__ import annotations

import numpy as np

from studio.errors import StudioError


def _gray(frame: np.ndarray) -> np.ndarray:
    import cv2

    frame = np.asarray(frame)
    if frame.ndim == 2:
        gray = frame
    elif frame.ndim == 3 and frame.shape[-1] == 3:
        gray = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
    else:
        raise StudioError(f"a frame must be (H, W, 3) or (H, W), got shape {frame.shape}")
    if gray.dtype != np.uint8:
        gray = np.clip(gray, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(gray)


def optical_flow(frame_a: np.ndarray, frame_b: np.ndarray) -> np.ndarray:
    """Dense flow from `frame_a` to `frame_b`: (H, W, 2) float32, (dx, dy) in pixels.

    flow[y, x] is where pixel (x, y) of frame_a moved to in frame_b, so
    `warp(frame_b, flow)` approximates frame_a.
    """
    import cv2

    a, b = _gray(frame_a), _gray(frame_b)
    if a.shape != b.shape:
        raise StudioError(f"frames for optical flow must have the same size, got {a.shape} and {b.shape}")
    if hasattr(cv2, "DISOpticalFlow_create"):
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        flow = dis.calc(a, b, None)
    else:  # pragma: no cover - every opencv-python wheel has DIS
        flow = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    return np.asarray(flow, dtype=np.float32)  # (H, W, 2)


def flow_magnitudes(frames: np.ndarray) -> np.ndarray:
    """Mean flow magnitude of each consecutive pair of frames: (T-1,) float64 (empty for T < 2)."""
    frames = np.asarray(frames)
    if frames.ndim != 4:
        raise StudioError(f"frames must be an array of shape (T, H, W, 3), got {frames.shape}")
    values = [
        float(np.linalg.norm(optical_flow(frames[i], frames[i + 1]), axis=-1).mean())
        for i in range(len(frames) - 1)
    ]
    return np.asarray(values, dtype=np.float64)


def flow_residual(frame_a: np.ndarray, frame_b: np.ndarray) -> tuple[float, float]:
    """(mean flow magnitude in pixels, mean absolute grey-level residual of warp(frame_b, flow) against frame_a)."""
    flow = optical_flow(frame_a, frame_b)  # (H, W, 2)
    residual = np.abs(_gray(warp(frame_b, flow)).astype(np.float64) - _gray(frame_a).astype(np.float64))  # (H, W)
    return float(np.linalg.norm(flow, axis=-1).mean()), float(residual.mean())


def warp(frame: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Backward-warp `frame` by `flow` (H, W, 2): out[y, x] = frame[y + dy, x + dx] (bilinear, edges replicated)."""
    import cv2

    flow = np.asarray(flow, dtype=np.float32)
    height, width = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    map_x = grid_x + flow[..., 0]  # (H, W)
    map_y = grid_y + flow[..., 1]
    return cv2.remap(np.ascontiguousarray(frame), map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
