"""`approve`: mark chunks approved, rejected or pending again before the scene goes on to refinement."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(commands) -> None:
    parser = commands.add_parser("approve", help="Approve (or reject, or clear) chunks of a scene")
    parser.add_argument("project", type=Path, help="project folder")
    parser.add_argument("--scene", required=True, help="scene id")
    parser.add_argument("--chunk", type=int, action="append", default=None, help="chunk index (repeat for several)")
    parser.add_argument("--all", action="store_true", help="every ready chunk of the scene")
    verdict = parser.add_mutually_exclusive_group()
    verdict.add_argument("--reject", action="store_true", help="reject instead of approve")
    verdict.add_argument("--clear", action="store_true", help="set back to pending")
    parser.set_defaults(handler=run_approve)


def run_approve(args: argparse.Namespace) -> int:
    from studio.errors import StudioError
    from studio.project.approval import ready_chunks, set_approvals
    from studio.project.model import load_project

    if args.all and args.chunk:
        raise StudioError("give either --chunk K (one or more) or --all, not both")
    if args.all:
        indices = ready_chunks(load_project(args.project).script.scene(args.scene))
        if not indices:
            raise StudioError(f"scene {args.scene!r} has no ready chunk to mark; generate it first")
    elif args.chunk:
        indices = args.chunk
    else:
        raise StudioError("name the chunks with --chunk K (repeat it for several), or use --all for every ready chunk")
    approval = "rejected" if args.reject else "pending" if args.clear else "approved"
    for chunk in set_approvals(args.project, args.scene, indices, approval):
        print(f"{args.scene} chunk {chunk.index}: {chunk.approval}")
    return 0
