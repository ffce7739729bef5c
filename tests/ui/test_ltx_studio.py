"""The studio launched on the tiny-ltx preset, driven by a real gradio_client: the LTX backend in the browser's API."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.ui.conftest import free_port


@pytest.fixture(scope="module")
def ltx_studio(tmp_path_factory):
    from studio.config import load_preset
    from studio.ui import build_app, launch_options, queue

    root = tmp_path_factory.mktemp("projects")
    demo = queue(build_app(load_preset("tiny-ltx"), projects_root=root, preset_reason="tests"))
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True,
                            **launch_options(demo))
    try:
        yield demo, url
    finally:
        demo.close()


def _video(value) -> str:
    return value["video"] if isinstance(value, dict) else value


@pytest.mark.slow
def test_client_plans_generates_and_refines_with_ltx(ltx_studio):
    """Plan, scene image, two LTX chunks (17 + 8 frames at 96x64) and the x2 latent-upscaler refine, over HTTP.
    Bug caught: the chunk made by StreamingT2V's UNet on an LTX preset (the family not dispatched)."""
    from gradio_client import Client

    from studio.media.video import read_video

    from studio.models.cache import clear_cache

    clear_cache()  # tiny and tiny-ltx share cache keys: see below which models this test builds
    demo, url = ltx_studio
    client = Client(url, verbose=False)
    project_id, scenes, _, _ = client.predict("A fox runs through the snow.", "rules", 1, api_name="/plan")
    scene_id = scenes["data"][0][0]
    client.predict(project_id, "", None, True, api_name="/references")
    updates = list(client.submit(project_id, scene_id, 2, api_name="/generate"))
    assert "Done: 2 new chunks" in updates[-1][-1]
    assert [row[1] for row in updates[-1][2]["data"]] == ["ready", "ready"]
    draft = read_video(Path(_video(updates[-1][3])))[0]
    assert draft.shape[:3] == (17 + 8, 64, 96)
    from studio.models.cache import _cache

    built = {name.split(":")[0] for _, name in _cache}
    assert {"ltx_transformer", "ltx_vae", "ltx_text_encoder"} <= built and "video_unet" not in built  # LTX made them
    _, after, _, message = client.predict(project_id, scene_id, "randomized", 0.5, 7, api_name="/refine")
    refined = read_video(Path(_video(after)))[0]
    assert refined.shape[:3] == (25, 128, 192) and "Seam score" in message
    assert not np.array_equal(refined[0, ::2, ::2], draft[0])  # the second pass ran, not a plain upscale
