"""The metrics in the Export tab: a small table (metric, value, what it means) and per-chunk scores to plot.

Plain data from the report of `studio.metrics.evaluate_video` (no gradio here). The report is kept
beside the export as report.json, so the table and the plot are drawn from the file, like every tab.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

REPORT_FILE = "report.json"
METRIC_COLUMNS = ["metric", "value", "what it means"]
PLOT_SCORES = {"motion": "motion (px/frame)", "consistency": "consistency (dB)"}


def _number(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float) and math.isinf(value):
        return "∞"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def metrics_rows(report: dict[str, Any]) -> list[list[str]]:
    """One row per metric: its name, its value and how to read it."""
    clip = report.get("clip_score")
    clip_value = _number(clip, 2) if clip is not None else "not computed"
    clip_meaning = ("0-100, higher matches the prompt better" if clip is not None
                    else str(report.get("clip_note") or "no prompt"))
    return [
        ["frames", f"{report.get('frames')} at {_number(report.get('fps'), 1)} fps",
         f"{report.get('width')}×{report.get('height')}"],
        ["SCuts", _number(report.get("scuts")), "scene cuts found; one per scene change is expected"],
        ["MAWE", _number(report.get("mawe")), "motion-aware warp error: lower is better"],
        ["seam score", _number(report.get("seam_score")), "how unevenly the motion changes: lower is smoother"],
        ["CLIP score", clip_value, clip_meaning],
    ]


def metrics_line(report: dict[str, Any]) -> str:
    """The metrics in one line, for the export message (API clients see no table)."""
    return " · ".join(f"{row[0]} {row[1]}" for row in metrics_rows(report)[1:])


def per_chunk_points(report: dict[str, Any]) -> list[dict[str, Any]]:
    """(chunk, score, value) points, one per 8-frame chunk and score, for a line plot."""
    return [{"chunk": row["chunk"], "score": label, "value": float(row[key])}
            for row in report.get("per_chunk") or [] for key, label in PLOT_SCORES.items()
            if row.get(key) is not None and math.isfinite(float(row[key]))]


def score_points(report: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """(chunk, value) points of one per-chunk score: each score has its own plot, its unit on its y axis."""
    return [{"chunk": row["chunk"], PLOT_SCORES[key]: float(row[key])} for row in report.get("per_chunk") or []
            if row.get(key) is not None and math.isfinite(float(row[key]))]


def save_report(report: dict[str, Any], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / REPORT_FILE
    path.write_text(json.dumps(report, default=str, indent=1), encoding="utf-8")
    return path


def load_report(folder: Path) -> dict[str, Any] | None:
    """The report saved with the last export, or None (none yet, or unreadable)."""
    try:
        data = json.loads((folder / REPORT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
