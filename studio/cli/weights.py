"""`weights inspect` (does a StreamingT2V checkpoint fit a preset?) and `weights convert` (to fp16 safetensors)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from studio.cli.common import resolve_preset

DEFAULT_PRESET = "gpu"  # the preset the released weights are for


def register(commands) -> None:
    parser = commands.add_parser("weights", help="inspect or convert a released StreamingT2V checkpoint")
    actions = parser.add_subparsers(dest="weights_action", metavar="ACTION", required=True)

    inspect = actions.add_parser("inspect", help="the layout found and whether it loads into the preset (exit 0 only then)")
    inspect.add_argument("file", type=Path, help=".ckpt (Lightning or plain) or .safetensors")
    inspect.add_argument("--preset", default=DEFAULT_PRESET, help=f"architecture to check against (default: {DEFAULT_PRESET})")
    inspect.add_argument("--json", action="store_true", help="print JSON")
    inspect.set_defaults(handler=run_inspect)

    convert = actions.add_parser("convert", help="map to our names, fp16, one safetensors file (streamed, atomic)")
    convert.add_argument("file", type=Path)
    convert.add_argument("-o", "--output", type=Path, required=True, help="the .safetensors file to write")
    convert.add_argument("--preset", default=DEFAULT_PRESET, help=f"architecture it must fit (default: {DEFAULT_PRESET})")
    convert.set_defaults(handler=run_convert)


def _format(found: dict) -> str:
    """The report as lines; names come from the file and are escaped, so none can forge a line."""
    from studio.generate.ckpt_reader import printable_name

    lines = [f"layout: {found['layout']}", f"mapped: {found['mapped']} tensors",
             f"frozen copies dropped: {found['dropped_frozen']}"]
    for field in ("missing", "unexpected", "mismatched"):
        names = found[field]
        lines.append(f"{field}: {len(names)}" + (f" (first: {', '.join(map(printable_name, names[:5]))})" if names else ""))
    lines.append("loadable: yes" if found["loadable"] else f"loadable: no — {printable_name(found['reason'])}")
    return "\n".join(lines)


def run_inspect(args: argparse.Namespace) -> int:
    from studio.generate.weights_check import inspect_checkpoint

    found = inspect_checkpoint(args.file, resolve_preset(args.preset))
    print(json.dumps(found, indent=2) if args.json else _format(found))
    return 0 if found["loadable"] else 1


def run_convert(args: argparse.Namespace) -> int:
    from studio.generate.checkpoint import convert_checkpoint
    from studio.generate.weights_check import expected_shapes

    def progress(done: int, total: int) -> None:
        if done == total or done % max(1, total // 50) == 0:
            print(f"\rconverting {done}/{total} tensors", end="\n" if done == total else "", file=sys.stderr, flush=True)

    report = convert_checkpoint(args.file, args.output, expected=expected_shapes(resolve_preset(args.preset)),
                                progress=progress)
    print(f"wrote {args.output} ({report.layout} layout, {report.loaded} tensors, "
          f"{report.dropped_frozen} frozen copies dropped)")
    return 0
