"""Bad values sent to the server: one quiet line, never a traceback; and a corrupt scene image has a way out.

Against the studio served on 127.0.0.1 (the module's `served_studio`), driven by gradio_client.
"""

from __future__ import annotations

import logging

import pytest

PROMPT = "A fox runs through the snow. An owl watches it."


def test_out_of_range_numbers_are_one_line_without_a_traceback(served_studio, capfd, caplog):
    """The line is the event's message (the page shows it by the button; no Error badge on the outputs)."""
    from gradio_client import Client

    demo, url = served_studio
    client = Client(url, verbose=False)
    capfd.readouterr()
    caplog.set_level(logging.INFO, logger="studio.ui.inputs")
    cases = [((PROMPT, "rules", 99), "/plan", "Scenes must be from 0 to 24, got 99: change it and try again"),
             ((PROMPT, "rules", -3), "/plan", "Scenes must be from 0 to 24, got -3"),
             ((PROMPT, "rules", "lots"), "/plan", "Scenes must be a number, got 'lots'"),
             (("p-00000000", "", "randomized", 5.0, 7), "/refine", "Strength must be from 0.05 to 1, got 5"),
             (("p-00000000", "", -9), "/generate", "Chunks must be from 0 to 16, got -9")]
    for args, endpoint, message in cases:
        assert client.predict(*args, api_name=endpoint)[-1].startswith(f"⚠ {message}")
    server_output = capfd.readouterr()
    assert "Traceback" not in server_output.err + server_output.out
    refused = [r for r in caplog.records if r.name == "studio.ui.inputs" and r.getMessage().startswith("refused")]
    assert len(refused) == len(cases) and all("\n" not in r.getMessage() for r in refused)
    assert not list(demo.studio.workspace.sessions_root.glob("*/p-*"))  # /plan made nothing: refused first


def test_a_corrupt_scene_image_names_the_button_that_remakes_it(served_studio):
    from gradio_client import Client
    from gradio_client.exceptions import AppError
    from PIL import Image

    from studio.project.model import load_project

    demo, url = served_studio
    client = Client(url, verbose=False)
    project_id, scenes, *_ = client.predict(PROMPT, "rules", 1, api_name="/plan")
    scene_id = scenes["data"][0][0]
    client.predict(project_id, "", None, True, api_name="/references")
    folder = next(demo.studio.workspace.sessions_root.glob(f"*/{project_id}"))
    image = folder / "scenes" / scene_id / "image.png"
    image.write_bytes(image.read_bytes()[:40])  # a cut file: its PNG header is still good

    with pytest.raises(AppError, match=f"scene image of {scene_id} is not a readable image: press Remake scene images"):
        client.predict(project_id, scene_id, 1, api_name="/generate")
    assert client.predict(project_id, api_name="/remake_scene_images").startswith(f"Remade the scene images of {scene_id}")
    with Image.open(image) as remade:
        remade.load()  # the button really made it again
    assert client.predict(project_id, scene_id, 1, api_name="/generate")[-1].startswith("Done: 1 new chunk")
