"""`evaluate_video`: the paper's metrics of one video file, a plain-text report and the plots.

    report = evaluate_video("final.mp4", prompt="a fox runs through snow", plots_dir="plots/")
    print(format_report(report))

Keys of the report (JSON-ready, except that `mawe` may be math.inf for a still video):
frames, fps, width, height, seconds; scuts, scuts_note, min_scene_len; mawe, mawe_note, warp_error,
flow_score, motion; seam_score; clip_score (None without a prompt, or with clip_note saying why the
CLIP model could not be loaded), clip_frames; per_chunk (a list of
{chunk, start_frame, end_frame, motion, warp_error, consistency, mawe}); plots ({"per_chunk": png,
"xt_slice": png}, only with plots_dir).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from studio.errors import StudioError, first_line

logger = logging.getLogger(__name__)

MAX_EVAL_WIDTH = 2560  # 4K (3840x2160) is refused: a batch of its frames and their flow would not fit
MAX_EVAL_HEIGHT = 1600
MAX_EVAL_PIXELS = 2560 * 1440
EVAL_BATCH_FRAMES = 32  # frames decoded and measured at a time: a long video is never held whole


def probe_video(path: Path) -> tuple[int, int, float]:
    """(width, height, fps) from the file's header, before any frame is decoded; clear errors."""
    import imageio_ffmpeg

    path = Path(path)
    if not path.exists():
        raise StudioError(f"video {path} does not exist")
    if not path.is_file():
        raise StudioError(f"{path} is not a file; pass a video file such as final.mp4")
    reader = imageio_ffmpeg.read_frames(str(path))
    try:
        meta = next(reader)
    except (RuntimeError, OSError, StopIteration, KeyError) as error:
        raise StudioError(f"{path} is not a readable video ({first_line(error, 120)})") from None
    finally:
        reader.close()
    width, height = meta.get("size", (0, 0))
    return int(width), int(height), float(meta.get("fps") or 0.0)


def check_video_size(path: Path, width: int, height: int) -> None:
    if width * height > MAX_EVAL_PIXELS or max(width, height) > MAX_EVAL_WIDTH:
        raise StudioError(
            f"{path} is {width}x{height}, too large to evaluate; resize it first to at most 2560x1440 "
            f"({MAX_EVAL_PIXELS} pixels, {MAX_EVAL_WIDTH} a side; e.g. ffmpeg -i {Path(path).name} -vf scale=1280:-2 small.mp4)"
        )
    if width < 16 or height < 16:
        raise StudioError(f"{path} is {width}x{height}; videos smaller than 16x16 cannot be evaluated")


def evaluate_video(path: Path, *, prompt: str | None = None, preset=None, plots_dir: Path | None = None) -> dict[str, Any]:
    """All metrics of the video at `path`. Bad input (missing, not a video, < 2 frames, 4K) -> StudioError.

    The frames are streamed: decoded EVAL_BATCH_FRAMES at a time, each batch measured and dropped; what
    is kept is per pair of frames (three numbers), one row per frame for the X-T slice (with plots) and
    at most MAX_CLIP_FRAMES evenly spaced frames for the CLIP score (with a prompt).
    """
    from studio.media.video import MAX_EVAL_FRAMES, VideoBatches
    from studio.metrics.mawe import PairStats, resize_for_analysis
    from studio.metrics.scuts import count_scene_cuts

    path = Path(path)
    # 1. Check the header first: a 4K file is refused before it is decoded.
    width, height, header_fps = probe_video(path)
    check_video_size(path, width, height)
    video = VideoBatches(path, batch_frames=EVAL_BATCH_FRAMES, max_frames=MAX_EVAL_FRAMES)
    pairs, samples, rows = PairStats(), EvenSample(), []
    for batch in video:  # (B, H, W, 3) uint8
        # 2. Motion and consistency (MAWE) on frames at the analysis size.
        pairs.add(resize_for_analysis(batch))  # (B, 256, 256, 3)
        if plots_dir is not None:
            rows.append(np.array(batch[:, batch.shape[1] // 2]))  # (B, W, 3): the X-T slice's middle row
        if prompt is not None and prompt.strip():
            samples.add(batch, first_index=video.frames - len(batch))
    fps = video.fps or header_fps
    if video.frames < 2:
        raise StudioError(f"{path} has {video.frames} frame; the metrics compare consecutive frames, so it needs at least 2")
    stats = pairs.finish()
    # 3. Scene cuts, from the file.
    scuts, min_scene_len = count_scene_cuts(path, fps)
    report = _report(path, video.frames, video.size, fps, stats, scuts, min_scene_len)
    # 4. Text alignment, only with a prompt (it loads a CLIP model).
    if prompt is not None and prompt.strip():
        report.update(_clip_report(samples.frames(), prompt, preset))
    # 5. Plots for people: motion and consistency over time, and the X-T slice (seams show as breaks).
    if plots_dir is not None:
        report["plots"] = save_plots(np.concatenate(rows)[:, None], report, Path(plots_dir), stem=path.stem)
    return report


class EvenSample:
    """At most `limit` frames of a stream, evenly spaced, the first included: every `stride`-th frame,
    the stride doubling (and every other kept frame dropped) whenever more than `limit` are kept.
    A video of at most `limit` frames keeps them all."""

    def __init__(self, limit: int | None = None):
        from studio.metrics.clip_score import MAX_CLIP_FRAMES

        self.limit, self.stride, self.kept = limit or MAX_CLIP_FRAMES, 1, {}

    def add(self, batch: np.ndarray, first_index: int) -> None:
        for offset, frame in enumerate(batch):
            index = first_index + offset
            if index % self.stride == 0:
                self.kept[index] = np.array(frame)
                if len(self.kept) > self.limit:
                    self.stride *= 2
                    self.kept = {i: f for i, f in self.kept.items() if i % self.stride == 0}

    def frames(self) -> np.ndarray:
        return np.stack([self.kept[i] for i in sorted(self.kept)])  # (N, H, W, 3)


def _report(path: Path, num_frames: int, size: tuple[int, int], fps: float, stats, scuts: int,
            min_scene_len: int) -> dict[str, Any]:
    from studio.metrics.mawe import MAWE_NOTE
    from studio.metrics.scuts import scuts_note

    return {
        "video": str(path),
        "frames": int(num_frames),
        "fps": float(fps),
        "width": int(size[0]),
        "height": int(size[1]),
        "seconds": float(num_frames / fps) if fps else None,
        "scuts": int(scuts),
        "min_scene_len": min_scene_len,
        "scuts_note": scuts_note(min_scene_len),
        "mawe": stats.mawe,
        "mawe_note": MAWE_NOTE,
        "warp_error": stats.warp_error,
        "flow_score": stats.flow_score,
        "motion": float(stats.flow_means.mean()),
        # seams.seam_score's definition (std over time of the mean flow magnitude), from the flow
        # already computed above rather than a second pass; a test keeps the two equal.
        "seam_score": float(np.std(stats.flow_means)) if num_frames >= 3 else 0.0,
        "clip_score": None,
        "clip_frames": 0,
        "per_chunk": stats.per_chunk,
    }


def _clip_report(frames: np.ndarray, prompt: str, preset) -> dict[str, Any]:
    from studio.errors import ModelUnavailableError
    from studio.metrics.clip_score import clip_scores

    try:
        scores = clip_scores(frames, prompt, preset)
    except ModelUnavailableError as error:
        # Offline without the CLIP weights: every other metric is still worth having.
        logger.warning("CLIP score skipped: %s", error)
        return {"prompt": prompt, "clip_note": f"not computed: {error}"}
    return {"prompt": prompt, "clip_score": float(scores.mean()), "clip_frames": int(len(scores))}


def save_plots(frames: np.ndarray, report: dict[str, Any], plots_dir: Path, stem: str = "video") -> dict[str, str]:
    from studio.metrics.seams import save_xt_slice

    plots_dir.mkdir(parents=True, exist_ok=True)
    chart = plot_per_chunk(report["per_chunk"], plots_dir / f"{stem}_per_chunk.png", title=stem)
    xt = save_xt_slice(frames, plots_dir / f"{stem}_xt_slice.png")
    return {"per_chunk": str(chart), "xt_slice": str(xt)}


def plot_per_chunk(per_chunk: list[dict], path: Path, title: str = "") -> Path:
    """Two panels over chunk index: motion (px/frame) and consistency (warping PSNR, dB). PNG, atomic."""
    import io

    import matplotlib

    matplotlib.use("Agg")  # no display on servers; must precede pyplot
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from studio.project.paths import atomic_write_bytes

    chunks = [row["chunk"] for row in per_chunk]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(7, 4.5), sharex=True)
    try:
        top.plot(chunks, [row["motion"] for row in per_chunk], marker="o", color="tab:blue")
        top.set_ylabel("motion (px/frame)")
        top.set_ylim(bottom=0)  # from zero: flow noise of a steady pan must not look like a swing
        top.set_title(f"{title}: motion and consistency per 8-frame chunk" if title else "per 8-frame chunk")
        top.grid(alpha=0.3)
        bottom.plot(chunks, [row["consistency"] for row in per_chunk], marker="o", color="tab:green")
        bottom.set_ylabel("consistency (dB)")
        bottom.set_xlabel("chunk")
        bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
        bottom.grid(alpha=0.3)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=100)
    finally:
        plt.close(figure)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def _number(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def format_report(report: dict[str, Any]) -> str:
    """The report as text a person reads."""
    lines = [
        f"video: {report.get('video', '')}",
        f"  {report['frames']} frames, {report['width']}x{report['height']}, {_number(report['fps'], 2)} fps",
        f"SCuts (scene cuts, 0 is ideal in one scene): {report['scuts']}",
        f"  {report['scuts_note']}",
        f"MAWE (lower is better): {_number(report['mawe'])}"
        + ("  -- the video does not move" if math.isinf(report["mawe"]) else ""),
        f"  warp error {_number(report['warp_error'])}, flow score {_number(report['flow_score'])} px^2, "
        f"mean motion {_number(report.get('motion'))} px/frame",
        f"  {report['mawe_note']}",
        f"seam score (std of motion over time, lower is smoother): {_number(report['seam_score'])}",
    ]
    if report.get("clip_score") is None:
        lines.append(f"CLIP score: n/a ({report.get('clip_note') or 'pass --prompt TEXT'})")
    else:
        lines.append(f"CLIP score (0-100, higher matches the prompt better): {_number(report['clip_score'], 2)} "
                     f"over {report['clip_frames']} frames")
    if report.get("per_chunk"):
        lines.append("per 8-frame chunk: chunk  frames   motion  consistency(dB)")
        for row in report["per_chunk"]:
            lines.append(f"  {row['chunk']:>5}  {row['start_frame']:>3}-{row['end_frame'] - 1:<4} "
                         f"{row['motion']:>7.3f}  {row['consistency']:>8.2f}")
    for name, plot in (report.get("plots") or {}).items():
        lines.append(f"plot {name}: {plot}")
    return "\n".join(lines)
