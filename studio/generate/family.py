"""Which video model family made a scene's chunks, and the one-line refusal of a preset of another family.

A scene records the family of its chunks (`Scene.family`, set by the chunk loop with its chunks). A
StreamingT2V chunk and an LTX-Video chunk differ in frame counts, sizes and what their memories mean,
so a scene made by one is never continued, regenerated, switched or refined by the other. A scene
saved before the field existed and holding chunks was made by StreamingT2V (or the animatic, which
makes chunks of the same shape), the only family there was.
"""

from __future__ import annotations

from studio.config import Preset
from studio.errors import StudioError

LEGACY_FAMILY = "streaming-t2v"
FAMILY_NAMES = {"streaming-t2v": "StreamingT2V", "ltx": "LTX-Video"}
PRESETS_OF = {"streaming-t2v": "gpu, zerogpu, tiny or animatic", "ltx": "ltx, ltx-zerogpu or tiny-ltx"}


def scene_family(scene) -> str:
    """The family of the scene's chunks; "" while it has none."""
    if scene.family:
        return scene.family
    return LEGACY_FAMILY if scene.chunks else ""


def check_family(scene, preset: Preset) -> None:
    """One line when `preset` makes chunks of another family than the scene's; nothing is changed."""
    made_by, wanted = scene_family(scene), preset.models.family
    if made_by and made_by != wanted:
        raise StudioError(f"scene {scene.id!r} was made with {FAMILY_NAMES[made_by]} chunks and preset {preset.name!r} "
                          f"makes {FAMILY_NAMES[wanted]} chunks; use a {FAMILY_NAMES[made_by]} preset "
                          f"({PRESETS_OF[made_by]}) or make a new project")
