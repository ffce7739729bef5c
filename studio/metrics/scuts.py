"""SCuts: how many scene cuts PySceneDetect's AdaptiveDetector finds (StreamingT2V §5.2; 0 is ideal
inside one scene; the paper reports 0.04 for StreamingT2V, 5.48 for SparseCtrl).

The paper uses the detector's default parameters. Its default `min_scene_len` is 15 frames, which
would hide cuts in our short, 8 fps clips (a 16-frame first chunk is 2 seconds), so we use half a
second of frames, at least 4 and at most 15; everything else is the default. The report says so.
"""

from __future__ import annotations

import logging
from pathlib import Path

from studio.errors import StudioError, first_line

logger = logging.getLogger(__name__)

MIN_SCENE_LEN_FLOOR = 4
MIN_SCENE_LEN_DEFAULT = 15  # PySceneDetect's own default


def min_scene_len_for(fps: float) -> int:
    """Half a second of frames, clamped to [4, 15] (15 = the detector's default)."""
    if not fps or fps <= 0:
        return MIN_SCENE_LEN_FLOOR
    return int(min(MIN_SCENE_LEN_DEFAULT, max(MIN_SCENE_LEN_FLOOR, round(fps / 2))))


def scuts_note(min_scene_len: int) -> str:
    return (
        f"PySceneDetect AdaptiveDetector, default parameters except min_scene_len={min_scene_len} frames "
        f"(half a second; the default 15 would hide cuts in short clips)"
    )


def scene_boundaries(path: Path, min_scene_len: int) -> list[tuple[int, int]]:
    """The (start, end) frame numbers of the scenes the detector finds in the video at `path`."""
    from scenedetect import AdaptiveDetector, detect

    # PySceneDetect logs "Detecting scenes..." at INFO on its own logger; keep it out of reports.
    scenedetect_logger = logging.getLogger("pyscenedetect")
    if not logger.isEnabledFor(logging.DEBUG) and scenedetect_logger.level <= logging.INFO:
        scenedetect_logger.setLevel(logging.WARNING)
    try:
        scenes = detect(str(path), AdaptiveDetector(min_scene_len=min_scene_len), show_progress=False)
    except Exception as error:  # noqa: BLE001 - the backend raises several kinds; the user needs one line
        raise StudioError(f"scene detection failed on {path} ({first_line(error)})") from None
    return [(start.frame_num, end.frame_num) for start, end in scenes]


def count_scene_cuts(path: Path, fps: float) -> tuple[int, int]:
    """(number of cuts, the min_scene_len used). No scene list or one scene means no cut."""
    min_scene_len = min_scene_len_for(fps)
    scenes = scene_boundaries(path, min_scene_len)
    logger.debug("scenes in %s: %s", path, scenes)
    return max(0, len(scenes) - 1), min_scene_len
