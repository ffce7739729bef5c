"""`import`: a project archive (.zip, as `export --archive` writes it) unpacked into a project folder."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(commands) -> None:
    parser = commands.add_parser("import", help="unpack a project archive (.zip) into a project folder")
    parser.add_argument("archive", type=Path, help="the .zip written by `export --archive` or the Export tab")
    parser.add_argument("--project", type=Path, required=True,
                        help="the project folder to create (its name becomes the project id)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing project folder")
    parser.set_defaults(handler=run_import)


def run_import(args: argparse.Namespace) -> int:
    from studio.export.archive import import_archive

    project_dir = Path(args.project)
    target = import_archive(args.archive, project_dir.parent,
                            project_id=project_dir.name, overwrite=args.overwrite)
    print(f"imported {args.archive} -> {target}")
    return 0
