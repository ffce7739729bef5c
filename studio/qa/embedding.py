"""Image-embedding similarity of a chunk to its scene's anchor and to the approved references.

The model is the preset's CLIP (`models.clip_metric`, through the shared model cache; the tiny preset's
is built in code). Cosine similarity of L2-normalised image embeddings: 1 = the same picture, CLIP
ViT-B/32 gives ~0.85+ for frames of one shot and ~0.4-0.6 for unrelated pictures. When the preset has no
model (animatic) or the weights cannot be loaded, `ImageEmbedder.open` returns None and a one-line note.
"""

from __future__ import annotations

import logging

import numpy as np

from studio.errors import StudioError, first_line

logger = logging.getLogger(__name__)


class ImageEmbedder:
    """CLIP image embeddings, (N, D) float64 and unit length."""

    def __init__(self, model, processor):
        self.model = model
        self.processor = processor

    @classmethod
    def open(cls, preset) -> tuple[ImageEmbedder | None, str]:
        """The preset's CLIP, or (None, why not) when it has none or it cannot be loaded."""
        if preset.models.backend == "animatic":
            return None, (f"preset {preset.name!r} has no image-embedding model: similarity to the anchor and "
                          "references is skipped (the colour and seam checks still run; use a preset with CLIP)")
        if preset.models.backend == "random":
            return None, f"preset {preset.name!r} (random backend) has no CLIP: similarity is skipped"
        from studio.models.cache import get_component

        try:
            model, processor = get_component(preset, "clip")
            from studio.models.memory import enter_stage

            enter_stage(preset, "qa")
        except (StudioError, OSError, ValueError, ImportError) as error:
            return None, f"CLIP is unavailable ({first_line(error, 200)}): similarity is skipped"
        return cls(model, processor), ""

    def embed(self, images: list[np.ndarray]) -> np.ndarray:
        import torch

        from studio.metrics.clip_score import _embedding

        parameter = next(self.model.parameters())
        with torch.inference_mode():
            pixels = self.processor(images=list(images), return_tensors="pt")["pixel_values"]  # (N, 3, S, S)
            pixels = pixels.to(parameter.device, parameter.dtype)
            features = _embedding(self.model.get_image_features(pixel_values=pixels)).float()  # (N, D)
            features = features / features.norm(dim=-1, keepdim=True).clamp(min=1e-8)
        return features.cpu().numpy().astype(np.float64)

    def mean_embedding(self, images: list[np.ndarray]) -> np.ndarray:
        """The unit-length mean of the images' embeddings: (D,)."""
        mean = self.embed(images).mean(axis=0)
        return mean / max(float(np.linalg.norm(mean)), 1e-8)


def evenly_spaced(frames: np.ndarray, count: int) -> list[np.ndarray]:
    """`count` frames of (T, H, W, 3), first and last included."""
    indices = np.unique(np.linspace(0, len(frames) - 1, min(count, len(frames))).round().astype(int))
    return [frames[i] for i in indices]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / max(float(np.linalg.norm(a) * np.linalg.norm(b)), 1e-8))
