"""Per-chunk drift checks of a project: `check_project(project_dir, preset)` -> QaReport.

For each chunk with frames on disk (scenes in script order, chunks in order):

1. colour drift against the scene's anchor (the scene image, else frame 0 of chunk 0), model-free;
2. the jump at its start seam against the motion inside it (chunks after the first), model-free;
3. similarity to the anchor and to the approved references of the scene's entities, with the preset's
   CLIP when it has one (else `notes` says why not and the scores are None);
4. `flagged` with a `reason` naming each measure past its limit (`preset.qa`).

Nothing is written: the checks only read the project folder.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from studio.errors import StudioError
from studio.qa.embedding import ImageEmbedder, cosine, evenly_spaced
from studio.qa.measures import ColourStats, colour_drift, colour_stats, seam_jump


@dataclass
class ChunkQa:
    scene: str
    chunk: int
    status: str  # the chunk's own status (ready | stale | failed)
    colour_shift: float | None = None
    spread_shift: float | None = None
    seam_flow: float | None = None  # None for a scene's first chunk: it has no start seam
    chunk_flow: float | None = None
    seam_flow_ratio: float | None = None
    seam_residual_ratio: float | None = None
    anchor_similarity: float | None = None
    reference_similarity: float | None = None  # the lowest over the scene's approved references
    flagged: bool = False
    reason: str = ""


@dataclass
class QaReport:
    chunks: list[ChunkQa] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"chunks": [_rounded(dataclasses.asdict(c)) for c in self.chunks], "notes": list(self.notes)}

    def flagged(self) -> list[ChunkQa]:
        return [c for c in self.chunks if c.flagged]

    def for_scene(self, scene_id: str) -> list[ChunkQa]:
        return [c for c in self.chunks if c.scene == scene_id]


def _rounded(row: dict) -> dict:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}


def check_project(project_dir: Path, preset, scene_id: str | None = None) -> QaReport:
    """The QA report of every scene (or only `scene_id`); see the module docstring."""
    from studio.project.model import load_project, scene_ids_to_make

    project_dir = Path(project_dir)
    project = load_project(project_dir)
    scene_ids = scene_ids_to_make(project, scene_id)
    embedder, note = ImageEmbedder.open(preset)
    report = QaReport(notes=[note] if note else [])
    for sid in scene_ids:
        report.chunks.extend(check_scene(project_dir, project, project.script.scene(sid), preset, embedder))
    if not report.chunks:
        report.notes.append("no chunk has frames yet: run `generate` first")
    return report


def _read_chunk(paths, scene_id: str, chunk) -> np.ndarray | None:
    from studio.media.video import load_frames

    try:
        return load_frames(paths.chunk_frames(scene_id, chunk))  # (T, H, W, 3)
    except StudioError:
        return None


def scene_anchor(paths, scene, first_chunk: np.ndarray | None) -> np.ndarray | None:
    """The scene image (the APM anchor of our studio) when readable, else frame 0 of chunk 0: (H, W, 3)."""
    if paths.scene_image(scene.id).is_file():
        image = _read_image(paths.scene_image(scene.id))
        if image is not None:
            return image
    return None if first_chunk is None else first_chunk[0]


def _read_image(path: Path) -> np.ndarray | None:
    from PIL import Image, UnidentifiedImageError

    from studio.media.files import open_regular

    try:
        with open_regular(path, "image") as handle, Image.open(handle) as image:  # never a FIFO: it would block
            return np.asarray(image.convert("RGB"))  # (H, W, 3)
    except (OSError, UnidentifiedImageError, ValueError, StudioError):
        return None


def reference_images(paths, project, scene) -> list[np.ndarray]:
    """The approved reference images of the scene's entities (unreadable ones are left out)."""
    images = []
    for entity_id in scene.entity_ids:
        entity = project.script.entity(entity_id)
        if entity.status == "approved" and paths.entity_image(entity.id).is_file():
            image = _read_image(paths.entity_image(entity.id))
            if image is not None:
                images.append(image)
    return images


def check_scene(project_dir: Path, project, scene, preset, embedder: ImageEmbedder | None) -> list[ChunkQa]:
    from studio.project.paths import ProjectPaths

    paths = ProjectPaths(project_dir)
    chunk_frames = [_read_chunk(paths, scene.id, chunk) for chunk in scene.chunks]
    # 1. What every chunk is compared with.
    anchor = scene_anchor(paths, scene, chunk_frames[0] if chunk_frames else None)
    if anchor is None:
        return [ChunkQa(scene.id, c.index, c.status, flagged=True, reason="no frames and no scene image: regenerate it")
                for c in scene.chunks]
    anchor_colour = colour_stats(anchor)
    anchor_embedding = references = None
    if embedder is not None:
        anchor_embedding = embedder.mean_embedding([anchor])
        references = [embedder.mean_embedding([image]) for image in reference_images(paths, project, scene)]
    # 2. Each chunk against them.
    rows = []
    for chunk, frames in zip(scene.chunks, chunk_frames):
        if frames is None:
            rows.append(ChunkQa(scene.id, chunk.index, chunk.status, flagged=True,
                                reason=f"its frames file {paths.relative(paths.chunk_frames(scene.id, chunk))} is "
                                       "missing or corrupt: regenerate the chunk"))
            continue
        previous = chunk_frames[chunk.index - 1] if chunk.index > 0 else None
        row = measure_chunk(scene.id, chunk, frames, previous, anchor_colour)
        if embedder is not None:
            embedding = embedder.mean_embedding(evenly_spaced(frames, preset.qa.embedding_frames))
            row.anchor_similarity = cosine(embedding, anchor_embedding)
            if references:
                row.reference_similarity = min(cosine(embedding, ref) for ref in references)
        judge(row, preset.qa)
        rows.append(row)
    return rows


def measure_chunk(scene_id: str, chunk, frames: np.ndarray, previous: np.ndarray | None,
                  anchor_colour: ColourStats) -> ChunkQa:
    """The model-free measures of one chunk (frames (T, H, W, 3); previous: the chunk before, or None)."""
    colour_shift, spread_shift = colour_drift(anchor_colour, colour_stats(frames))
    row = ChunkQa(scene_id, chunk.index, chunk.status, colour_shift=colour_shift, spread_shift=spread_shift)
    if previous is not None:
        jump = seam_jump(previous[-1], frames)
        row.seam_flow, row.chunk_flow = jump.seam_flow, jump.chunk_flow
        row.seam_flow_ratio, row.seam_residual_ratio = jump.seam_flow_ratio, jump.seam_residual_ratio
    return row


def judge(row: ChunkQa, limits) -> ChunkQa:
    """Set `flagged` and `reason` from the measures past their limits (a limit of 0 turns a similarity off)."""
    checks = [
        (row.colour_shift, limits.max_colour_shift, "above", "colour drift {:.1f} delta E from the anchor"),
        (row.spread_shift, limits.max_spread_shift, "above", "contrast/saturation drift {:.1f} from the anchor"),
        (row.seam_flow_ratio, limits.max_seam_flow_ratio, "above", "start seam moves {:.1f}x the chunk's motion"),
        (row.seam_residual_ratio, limits.max_seam_residual_ratio, "above", "start seam changes {:.1f}x the chunk's frames"),
        (row.anchor_similarity, limits.min_anchor_similarity, "below", "similarity to the anchor {:.2f}"),
        (row.reference_similarity, limits.min_reference_similarity, "below", "similarity to a reference {:.2f}"),
    ]
    reasons = []
    for value, limit, side, text in checks:
        if value is None or (side == "below" and limit <= 0):
            continue
        if (value > limit) if side == "above" else (value < limit):
            reasons.append(f"{text.format(value)} (limit {limit:g})")
    row.flagged = bool(reasons)
    row.reason = "; ".join(reasons)
    return row
