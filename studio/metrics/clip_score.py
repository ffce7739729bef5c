"""CLIP score: how well the frames match the prompt (StreamingT2V §5.2; 31.73 for StreamingT2V).

Mean over frames of 100 * max(0, cosine(CLIP text embedding of the prompt, CLIP image embedding of the
frame)), with transformers' CLIPModel from the preset (`models.clip_metric`; a tiny random CLIP in the
tiny preset). Computed here, not with torchmetrics: its CLIPScore breaks with transformers 5, whose
get_*_features return an output object instead of a tensor.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from studio.errors import StudioError

logger = logging.getLogger(__name__)

MAX_CLIP_FRAMES = 128  # frames scored at most, evenly spaced (the mean is stable long before that)
BATCH_FRAMES = 16


def clip_preset(preset):
    """The preset whose CLIP is used: an animatic preset (no models) or none at all uses the hub CLIP."""
    from studio.config import load_preset

    if preset is None:
        preset = load_preset("animatic")
    if preset.models.backend == "animatic":
        preset = dataclasses.replace(preset, models=dataclasses.replace(preset.models, backend="hub"))
    return preset


def _embedding(output):
    """transformers 5 returns an output object from get_*_features; older versions a tensor."""
    return output if hasattr(output, "norm") else output.pooler_output


def sample_indices(num_frames: int, limit: int = MAX_CLIP_FRAMES) -> np.ndarray:
    """At most `limit` frame indices, evenly spaced, first and last included."""
    if num_frames <= limit:
        return np.arange(num_frames)
    return np.unique(np.linspace(0, num_frames - 1, limit).round().astype(int))


def clip_scores(frames: np.ndarray, prompt: str, preset=None, *, limit: int = MAX_CLIP_FRAMES,
                clamp: bool = True) -> np.ndarray:
    """Per-frame CLIP scores, (N,) float64 in [0, 100], for N <= `limit` evenly spaced frames.

    `clamp=False` gives the raw 100 * cosine (in [-100, 100]), for diagnostics and tests.
    """
    import torch

    from studio.models.cache import get_component

    prompt = (prompt or "").strip()
    if not prompt:
        raise StudioError("the CLIP score needs a prompt; pass --prompt TEXT")
    model, processor = get_component(clip_preset(preset), "clip")
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    indices = sample_indices(len(frames), limit)
    with torch.inference_mode():
        text = processor(text=[prompt], return_tensors="pt", padding=True, truncation=True)
        text = {k: v.to(device) for k, v in text.items()}
        text_embedding = _embedding(model.get_text_features(**text)).float()  # (1, D)
        text_embedding = text_embedding / text_embedding.norm(dim=-1, keepdim=True)
        scores = []
        for start in range(0, len(indices), BATCH_FRAMES):
            batch = [frames[i] for i in indices[start : start + BATCH_FRAMES]]
            pixels = processor(images=batch, return_tensors="pt")["pixel_values"].to(device, dtype)  # (B, 3, S, S)
            image_embedding = _embedding(model.get_image_features(pixel_values=pixels)).float()  # (B, D)
            image_embedding = image_embedding / image_embedding.norm(dim=-1, keepdim=True)
            cosine = (image_embedding @ text_embedding.T).squeeze(-1)  # (B,)
            scores.append((100.0 * (cosine.clamp(min=0) if clamp else cosine)).cpu().numpy())
    return np.concatenate(scores).astype(np.float64)


def clip_score(frames: np.ndarray, prompt: str, preset=None) -> float:
    """Mean CLIP score of the video's frames, 0-100 (higher = closer to the prompt)."""
    return float(clip_scores(frames, prompt, preset).mean())
