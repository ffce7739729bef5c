"""`export`: stage 5, the final mp4, per-scene files and the project archive."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from studio.cli.common import add_preset_option, resolve_preset


def register(commands) -> None:
    parser = commands.add_parser("export", help="Stage 5: assemble the final mp4 and the project archive")
    parser.add_argument("project", type=Path, help="project folder")
    parser.add_argument("-o", "--output", type=Path, default=None, help="final video path (default: PROJECT/final.mp4)")
    parser.add_argument("--archive", type=Path, default=None, help="also write a .zip of the project here")
    parser.add_argument("--timeline", type=Path, default=None, metavar="FILE",
                        help="also write the cut as an editor timeline: .otio, .xml (FCP 7), .fcpxml or .edl")
    add_preset_option(parser)
    parser.set_defaults(handler=run_export)


def run_export(args: argparse.Namespace) -> int:
    from studio.export.stage import export_project

    preset = resolve_preset(args.preset, args.project)
    result = export_project(args.project, preset, output=args.output, archive=args.archive,
                            timeline=args.timeline)
    print(f"wrote {result.video} ({result.num_frames} frames, {result.seconds:.1f} s)")
    if result.timeline:
        print(f"wrote {result.timeline}")
    for line in result.warnings:
        print(f"warning: {line}", file=sys.stderr)
    if result.archive:
        print(f"wrote {result.archive}")
    return 0
