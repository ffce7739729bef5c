"""StreamStudio in the browser: `python app.py [--preset NAME] [--port N] [--host H] [--share]`.

Without --preset it picks `gpu` when CUDA and the Hugging Face Hub are both there, else `animatic`
(the offline storyboard renderer), and the header says which and why. It binds 127.0.0.1 unless told
otherwise and makes no public share link unless --share is given.
"""

from __future__ import annotations

import argparse
import logging
import os


def hub_reachable(timeout: float = 2.0) -> bool:
    """True unless HF_HUB_OFFLINE is set or a quick HEAD to huggingface.co fails."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return False
    import urllib.request

    try:
        request = urllib.request.Request("https://huggingface.co", method="HEAD")
        with urllib.request.urlopen(request, timeout=timeout):
            return True
    except OSError:
        return False


def default_preset() -> tuple[str, str]:
    """(preset name, why) for a machine: gpu with CUDA and the Hub, else the offline animatic."""
    import torch

    if not torch.cuda.is_available():
        return "animatic", "no CUDA GPU here: an offline storyboard"
    if not hub_reachable():
        return "animatic", "the Hugging Face Hub is not reachable: an offline storyboard"
    return "gpu", "CUDA GPU and Hub found"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="StreamStudio: one prompt to a long, multi-scene video, in the browser.")
    parser.add_argument("--preset", default=None, help="tiny, animatic, gpu, zerogpu or a .yaml path "
                        "(default: gpu with CUDA and the Hub, else animatic)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                        help="address to bind (default 127.0.0.1; 0.0.0.0 to serve a network)")
    parser.add_argument("--share", action="store_true", help="also make a public gradio.live link")
    parser.add_argument("--projects", default=None, help="projects root (default: $STUDIO_PROJECTS_ROOT or ./projects)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    from studio.config import load_preset
    from studio.ui import build_app, launch_options, queue

    if args.preset:
        name, reason = args.preset, "chosen with --preset"
    elif os.environ.get("STUDIO_PRESET"):
        name, reason = os.environ["STUDIO_PRESET"], "from STUDIO_PRESET"
    else:
        name, reason = default_preset()
    from studio.errors import StudioError
    from studio.logs import quiet_libraries

    try:  # a bad preset, $STUDIO_QUEUE_SIZE or $STUDIO_JOBS_PER_SESSION is one line, not a traceback
        preset = load_preset(name)
        from studio.gpu import on_zero_gpu

        if on_zero_gpu():  # downloads, conversion and loading now, outside any GPU call (studio.models.prefetch)
            from studio.models.prefetch import prepare_models

            prepare_models(preset, progress=print)
        demo = queue(build_app(preset, projects_root=args.projects, preset_reason=reason))
    except StudioError as error:
        raise SystemExit(f"error: {error}") from None
    quiet_libraries()
    # quiet: gradio's own banner suggests `share=True in launch()`; here the flag is --share.
    _, local_url, share_url = demo.launch(server_name=args.host, server_port=args.port, share=args.share, quiet=True,
                                          prevent_thread_lock=True, **launch_options(demo))
    print(f"StreamStudio ({preset.name} preset) on {local_url}")
    print(f"public link: {share_url}" if share_url else "only this machine can reach it; add --share for a public link")
    demo.block_thread()


if __name__ == "__main__":
    main()
