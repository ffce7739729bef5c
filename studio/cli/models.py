"""`models check`: what a preset downloads, what is cached, whether it loads and whether it fits the GPU."""

from __future__ import annotations

import argparse
import json

from studio.cli.common import resolve_preset


def register(commands) -> None:
    parser = commands.add_parser("models", help="check a preset's models: downloads, cache, memory per stage")
    actions = parser.add_subparsers(dest="models_action", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="exit 0 when every model is cached, loads and fits; 2 otherwise")
    check.add_argument("--preset", default="gpu", help="preset name or .yaml path (default: gpu)")
    output = check.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the report as JSON")
    output.add_argument("--markdown", action="store_true", help="print the README's download and memory tables")
    check.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace) -> int:
    from studio.models.check import check, format_report, markdown_tables

    report = check(resolve_preset(args.preset))
    if args.json:
        print(json.dumps(report, indent=2))
    elif args.markdown:
        print(markdown_tables(report))
    else:
        print(format_report(report))
    return 0 if report["ok"] else 2
