"""What every command shares: the --preset option, the preset a project runs on, Ctrl-C, progress bars."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator


def add_preset_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default=None, help="preset name (tiny, animatic, gpu, zerogpu, tiny-ltx, ltx, ltx-zerogpu) or a .yaml path; "
                        "default: the project's preset, else animatic")


def resolve_preset(name: str | None, project_dir: Path | None = None, *, planner: str | None = None):
    """The preset named on the command line, else the project's own, else the offline animatic.

    A preset that needs no network switches the Hub off for the whole command (studio/offline.py).
    """
    from studio.config import load_named_preset, load_preset
    from studio.offline import go_offline

    if name is None and project_dir is not None and (Path(project_dir) / "project.json").is_file():
        from studio.project.model import load_project

        preset = load_named_preset(load_project(project_dir).preset)  # a path is honoured from the command line only
    else:
        preset = load_preset(name or "animatic")
    go_offline(preset, planner)
    return preset


def add_cluster_options(parser: argparse.ArgumentParser, runs: str) -> None:
    """--cluster and --workers: `runs` (what goes to the workers) on Ray instead of in this process."""
    parser.add_argument("--cluster", default=None, help=f"run {runs} on Ray workers: local, auto or ray://HOST:PORT")
    parser.add_argument("--workers", type=int, default=None, help="Ray workers (default: one per GPU of the cluster)")


def check_cluster_options(args: argparse.Namespace) -> bool:
    """True when a cluster is asked for; --workers alone is a one-line error."""
    from studio.errors import StudioError

    if args.cluster is None and args.workers is not None:
        raise StudioError("--workers needs --cluster (local, auto or ray://HOST:PORT)")
    return args.cluster is not None


@contextmanager
def stop_on_ctrl_c() -> Iterator[threading.Event]:
    """The first Ctrl-C sets the stop flag (the stage stops after the current step, keeping finished work)."""
    stop = threading.Event()
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print("stopping after the current step (Ctrl-C again to abort)...", file=sys.stderr)

    in_main = threading.current_thread() is threading.main_thread()
    if in_main:
        signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        if in_main:
            signal.signal(signal.SIGINT, previous)


def tqdm_progress(desc: str) -> Callable[[float, str], None]:
    """A progress callback (fraction in [0, 1], message) drawn as a tqdm bar on stderr."""
    from tqdm import tqdm

    bar = tqdm(total=1000, desc=desc, leave=False, file=sys.stderr, disable=not sys.stderr.isatty())

    def update(fraction: float, message: str = "") -> None:
        bar.n = int(max(0.0, min(1.0, fraction)) * 1000)
        if message:
            bar.set_postfix_str(message[:60], refresh=False)
        bar.refresh()
        if fraction >= 1.0:
            bar.close()
    return update


def seed_argument(text: str) -> int:
    """argparse type of --seed: a whole number from 0 to MAX_SEED (the range everywhere), else a one-line error."""
    from studio.project.model import MAX_SEED

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a whole number") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"{text[:40]} must be from 0 to {MAX_SEED}")
    return value
