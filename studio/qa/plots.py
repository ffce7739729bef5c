"""The QA scores over the chunks of each scene, drawn with matplotlib, so drift is seen rather than read.

One PNG per scene: the colour drift (with its limit), the seam ratios (with theirs) and, when CLIP ran,
the similarities; flagged chunks are marked in red.
"""

from __future__ import annotations

from pathlib import Path

from studio.project.paths import atomic_path, validate_id


def plot_scene(rows, limits, path: Path, title: str = "") -> Path:
    """Draw one scene's rows (ChunkQa, in chunk order) into a PNG at `path`, atomically."""
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    from matplotlib.figure import Figure

    has_similarity = any(r.anchor_similarity is not None for r in rows)
    figure = Figure(figsize=(7, 6 if has_similarity else 4.2), layout="constrained")
    axes = figure.subplots(3 if has_similarity else 2, 1, sharex=True)
    chunks = [r.chunk for r in rows]
    flagged = [r.chunk for r in rows if r.flagged]
    _panel(axes[0], chunks, {"colour shift (delta E)": [r.colour_shift for r in rows],
                             "spread shift": [r.spread_shift for r in rows]},
           {"colour limit": limits.max_colour_shift}, flagged, "drift from the anchor")
    _panel(axes[1], chunks, {"seam flow ratio": [r.seam_flow_ratio for r in rows],
                             "seam residual ratio": [r.seam_residual_ratio for r in rows]},
           {"seam limit": max(limits.max_seam_flow_ratio, limits.max_seam_residual_ratio)}, flagged,
           "start-seam jump / in-chunk motion")
    if has_similarity:
        _panel(axes[2], chunks, {"to anchor": [r.anchor_similarity for r in rows],
                                 "to references": [r.reference_similarity for r in rows]},
               {"anchor limit": limits.min_anchor_similarity}, flagged, "CLIP similarity")
    axes[-1].set_xlabel("chunk")
    axes[-1].set_xticks(chunks)
    figure.suptitle(title or (rows[0].scene if rows else ""))
    with atomic_path(Path(path), suffix=".png") as tmp:
        figure.savefig(tmp, format="png", dpi=90)
    return Path(path)


def _panel(axis, chunks, series: dict, limits: dict, flagged: list[int], label: str) -> None:
    for name, values in series.items():
        points = [(c, v) for c, v in zip(chunks, values) if v is not None]
        if points:
            axis.plot(*zip(*points), marker="o", label=name)
    for name, value in limits.items():
        if value > 0:
            axis.axhline(value, color="grey", linestyle="--", linewidth=1, label=name)
    for chunk in flagged:
        axis.axvspan(chunk - 0.4, chunk + 0.4, color="red", alpha=0.15)
    axis.set_ylabel(label, fontsize=8)
    axis.legend(fontsize=7, loc="upper left")


def plot_report(report, limits, folder: Path, titles: dict[str, str] | None = None) -> list[Path]:
    """One PNG per scene of `report` into `folder` (named <scene>.png); their paths, in scene order."""
    folder = Path(folder)
    scene_ids = list(dict.fromkeys(row.scene for row in report.chunks))
    return [plot_scene(report.for_scene(sid), limits, folder / f"{validate_id(sid, 'scene id')}.png",
                       (titles or {}).get(sid, sid)) for sid in scene_ids]
