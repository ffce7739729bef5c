"""Camera moves named in words ('Slow pan to the left') -> the vocabulary's moves ('pan left').

Its own module, below both the repair of a planner's answer and the clause parser of the rules
planner: each reads it, and neither has to import the other (which closed an import circle).
"""

from __future__ import annotations

import re
from typing import Any

from studio.project.model import CAMERA_MOVES

# Words people and models use for the moves of the vocabulary, checked longest first.
CAMERA_SYNONYMS: dict[str, str] = {
    "still": "static", "fixed": "static", "locked": "static", "locked off": "static", "none": "static",
    "stationary": "static", "static shot": "static", "wide shot": "static", "establishing shot": "static",
    "pan": "pan right", "panning": "pan right", "pans left": "pan left", "panning left": "pan left",
    "pans right": "pan right", "panning right": "pan right", "whip pan": "pan right",
    "tilt": "tilt up", "tilts up": "tilt up", "tilting up": "tilt up", "crane up": "tilt up", "pedestal up": "tilt up",
    "tilts down": "tilt down", "tilting down": "tilt down", "crane down": "tilt down", "pedestal down": "tilt down",
    "zoom": "zoom in", "zooms in": "zoom in", "zooming in": "zoom in", "close up": "zoom in", "close-up": "zoom in",
    "closeup": "zoom in", "zooms out": "zoom out", "zooming out": "zoom out", "pull back": "dolly out",
    "pulls back": "dolly out", "pull out": "dolly out", "pulls out": "dolly out", "dolly": "dolly in",
    "push in": "dolly in", "pushes in": "dolly in", "dolly forward": "dolly in", "dollies in": "dolly in",
    "dolly back": "dolly out", "dollies out": "dolly out", "truck": "tracking", "orbits": "orbit",
    "orbiting": "orbit", "arc": "orbit", "arc shot": "orbit", "circles around": "orbit", "circling": "orbit",
    "360": "orbit", "track": "tracking", "tracks": "tracking", "tracking shot": "tracking", "follow": "tracking",
    "follows": "tracking", "following": "tracking", "follow shot": "tracking", "handheld": "tracking",
    "steadicam": "tracking", "aerial": "tilt down", "bird's eye": "tilt down", "drone": "tracking",
}


def map_camera(value: Any) -> str | None:
    """The vocabulary move that `value` names ('Slow pan to the left' -> 'pan left'), or None."""
    if not isinstance(value, str):
        return None
    text = re.sub(r"[\s_]+", " ", value.strip().lower()).replace("-", " ")
    text = re.sub(r"\b(?:to|towards?) (?:the )?(left|right)\b", r"\1", text)  # 'pan to the left' -> 'pan left'
    compact = re.sub(r"\b(the |camera |slow(ly)? |fast |quick(ly)? |gentle |gently |shot$)", "", text).strip()
    if compact in CAMERA_MOVES:
        return compact
    candidates = {**{move: move for move in CAMERA_MOVES}, **CAMERA_SYNONYMS}
    for phrase in sorted(candidates, key=len, reverse=True):
        if re.search(rf"\b{re.escape(phrase)}\b", compact):
            return candidates[phrase]
    return None
