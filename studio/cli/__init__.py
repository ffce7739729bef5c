"""The command line: `python -m studio COMMAND`, one module per stage (plan, references, generate,
takes, refine, export), import, and the tools (run, eval, bench). Each module registers its commands; a command's
handler returns the exit code. Errors a person can act on print one line and exit 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from studio.errors import StudioError, first_line, no_space_message

logger = logging.getLogger("studio")


def command_modules() -> list:
    """The modules that register commands, in the order `--help` lists them (the pipeline's order)."""
    from studio.cli import approve, archive, export, generate, models, plan, qa, references, refine, takes, tools, weights

    return [plan, references, generate, takes, approve, refine, export, archive, qa, tools, weights, models]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m studio", description="StreamStudio: one prompt to a long, multi-scene video.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what each stage does")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in command_modules():
        module.register(commands)
    return parser


def command_names() -> list[str]:
    """Every command name the parser accepts, aliases included."""
    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return list(subparsers.choices)


def _open_project(args: argparse.Namespace) -> None:
    """A command on an existing project opens it first: an old layout is moved, what a kill left is swept."""
    project = getattr(args, "project", None)
    if isinstance(project, Path) and (project / "project.json").is_file():
        from studio.project.layout import open_project

        open_project(project)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        from studio.logs import quiet_libraries

        quiet_libraries()
    try:
        _open_project(args)
        return args.handler(args)
    except StudioError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("aborted", file=sys.stderr)
        return 130
    except OSError as error:
        # A path that is a file, a folder we may not write, a full disk: the user's to fix, in one line
        # (a library's multi-line dump, such as ffmpeg's command and log, goes to the log: see it with -v).
        logging.getLogger("studio.cli").info("%s", error)
        full = no_space_message(error)
        if full:
            print(f"error: {full}", file=sys.stderr)
            return 2
        where = f" ({str(error.filename)!r})" if error.filename else ""
        print(f"error: {error.strerror or first_line(error)}{where}; check the paths given and try again", file=sys.stderr)
        return 2
