"""`takes`: list a chunk's versions, make another one active (no model call), or remove one."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from studio.cli.common import add_preset_option, resolve_preset


def register(commands) -> None:
    parser = commands.add_parser("takes", help="Stage 3: list a chunk's takes, switch to one (--use) or remove one")
    parser.add_argument("project", type=Path, help="project folder")
    parser.add_argument("--scene", required=True, help="scene id")
    parser.add_argument("--chunk", required=True, type=int, help="chunk index (0 is the first)")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--use", type=int, default=None, metavar="T", help="make take T the active version (instant)")
    action.add_argument("--remove", type=int, default=None, metavar="T", help="remove take T (not the active one)")
    parser.add_argument("--json", action="store_true", help="print the takes (or the switch) as JSON")
    add_preset_option(parser)
    parser.set_defaults(handler=run_takes)


def run_takes(args: argparse.Namespace) -> int:
    from studio.generate.takes import list_takes, remove_take, use_take

    if args.use is not None:
        switch = use_take(args.project, resolve_preset(args.preset, args.project), args.scene, args.chunk, args.use)
        if args.json:
            print(json.dumps({"scene": switch.scene_id, "chunk": switch.chunk_index, "take": switch.take,
                              "ready": switch.ready, "stale": switch.stale}))
        else:
            print(f"{switch.scene_id} chunk {switch.chunk_index}: take {switch.take} is active; "
                  f"later chunks ready: {switch.ready or 'none'}; stale: {switch.stale or 'none'}")
        return 0
    if args.remove is not None:
        remove_take(args.project, args.scene, args.chunk, args.remove)
        if args.json:
            print(json.dumps({"scene": args.scene, "chunk": args.chunk, "removed": args.remove}))
        else:
            print(f"{args.scene} chunk {args.chunk}: take {args.remove} removed")
        return 0
    views = list_takes(args.project, args.scene, args.chunk)
    if args.json:
        print(json.dumps([{"take": v.take, "seed": v.seed, "prompt": v.prompt, "made": v.made, "active": v.active,
                           "approval": v.approval, "preview": str(v.preview) if v.preview else None} for v in views],
                         indent=2, ensure_ascii=False))
        return 0
    for view in views:
        marker = "*" if view.active else " "
        print(f"{marker} take {view.take}  seed {view.seed}  made {view.made or 'unknown'}  {view.approval}  {view.prompt}")
    return 0
