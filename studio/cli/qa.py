"""`qa`: per-chunk drift checks of a project (colour, seams, similarity), as a table or JSON, and plots."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from studio.cli.common import add_preset_option, resolve_preset


def register(commands) -> None:
    parser = commands.add_parser("qa", help="Check each chunk for drift from its scene's anchor and references")
    parser.add_argument("project", type=Path, help="project folder")
    parser.add_argument("--scene", default=None, help="check only this scene id")
    parser.add_argument("--json", action="store_true", help='print {"chunks": [...], "notes": [...]} as JSON')
    parser.add_argument("--plots", type=Path, default=None, metavar="FOLDER",
                        help="also draw the scores over the chunks, one PNG per scene, into FOLDER")
    add_preset_option(parser)
    parser.set_defaults(handler=run_qa)


def run_qa(args: argparse.Namespace) -> int:
    from studio.qa.check import check_project

    preset = resolve_preset(args.preset, args.project)
    report = check_project(args.project, preset, args.scene)
    plots = []
    if args.plots is not None:
        from studio.qa.plots import plot_report

        plots = plot_report(report, preset.qa, args.plots)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    for note in report.notes:
        print(f"note: {note}")
    print(format_table(report))
    print(f"{len(report.flagged())} of {len(report.chunks)} chunks flagged")
    for path in plots:
        print(f"wrote {path}")
    return 0


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_table(report) -> str:
    lines = [f"{'scene':<16} {'chunk':>5} {'colour':>7} {'spread':>7} {'seam':>6} {'seam-px':>7} {'anchor':>6} {'ref':>5}  flag"]
    for row in report.chunks:
        seam = None if row.seam_flow_ratio is None else max(row.seam_flow_ratio, row.seam_residual_ratio or 0.0)
        flag = f"FLAGGED: {row.reason}" if row.flagged else "ok"
        lines.append(f"{row.scene:<16} {row.chunk:>5} {_number(row.colour_shift):>7} {_number(row.spread_shift):>7} "
                     f"{_number(seam):>6} {_number(row.seam_flow):>7} {_number(row.anchor_similarity, 2):>6} "
                     f"{_number(row.reference_similarity, 2):>5}  {flag}")
    return "\n".join(lines)
