"""Metrics of long videos (StreamingT2V §5.2): SCuts, MAWE, CLIP score, the seam score, plots.

Light at import: numpy only. OpenCV, PySceneDetect, torch and matplotlib load when a metric runs.
"""

from studio.metrics.report import evaluate_video, format_report

__all__ = ["evaluate_video", "format_report"]
