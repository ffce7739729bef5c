"""The Generate and Export panels as a creator meets them, through gradio_client against a served studio:
bad values are one line in the tab's message, the Chunks box is a one-off, export names what it left
out or kept although rejected, the timeline format is followed at once and travels in the archive, and
a list of regenerations across scenes runs as one job.
"""

from __future__ import annotations

import zipfile

import pytest

from studio.project.model import load_project

PROMPT = "A fox runs through the snow. An owl watches it from a pine."


def folder_of(demo, project_id):
    return next(path.parent for path in demo.studio.workspace.sessions_root.rglob("project.json")
                if path.parent.name == project_id)


def planned(url, scenes: int = 2, chunks: int = 2):
    """A client and a project of `scenes` scenes, each of `chunks` chunks (set in the Plan table)."""
    from gradio_client import Client

    from studio.plan.tables import SCENE_COLUMNS

    client = Client(url, verbose=False)
    project_id, scene_rows, entity_rows, _ = client.predict(PROMPT, "rules", scenes, api_name="/plan")
    rows = [list(row) for row in scene_rows["data"]]
    for row in rows:
        row[SCENE_COLUMNS.index("chunks")] = str(chunks)
    client.predict(project_id, PROMPT, {"headers": scene_rows["headers"], "data": rows}, entity_rows,
                   api_name="/apply_script")
    return client, project_id, [row[0] for row in rows]


def test_bad_values_are_a_line_in_the_message_and_change_nothing(served_studio):
    """Bugs caught: a refused value raised gr.Error (an Error badge over every output of the event, and no
    line that stays); 1.5 in a whole-number box was rounded to 2 silently; a chunks cell of 10**400 gave
    'internal error (OverflowError)'."""
    from studio.plan.tables import ENTITY_COLUMNS, SCENE_COLUMNS

    demo, url = served_studio
    client, project_id, scene_ids = planned(url, scenes=1)
    project_json = folder_of(demo, project_id) / "project.json"
    before = project_json.read_bytes()
    most = demo.studio.handlers.max_chunks()

    outputs = client.predict(project_id, scene_ids[0], 999, api_name="/generate")
    assert outputs[-1] == f"⚠ Chunks must be from 0 to {most}, got 999: change it and try again"
    assert client.predict(project_id, scene_ids[0], 1.5, api_name="/generate")[-1] == (
        "⚠ Chunks must be a whole number, got 1.5: change it and try again")
    assert client.predict(project_id, scene_ids[0], 0, 0, api_name="/use_take")[-1] == (
        "⚠ Take must be from 1 to 10000, got 0: change it and try again")
    assert client.predict("   ", "rules", 1, api_name="/plan")[-1].startswith("⚠ the prompt is empty")
    from studio.plan.tables import script_to_rows

    scene_rows, entity_rows = script_to_rows(load_project(project_json.parent).script)
    scene_rows[0][SCENE_COLUMNS.index("chunks")] = str(10**400)
    message = client.predict(project_id, PROMPT, {"headers": SCENE_COLUMNS, "data": scene_rows},
                             {"headers": ENTITY_COLUMNS, "data": entity_rows}, api_name="/apply_script")[-1]
    assert message.startswith("⚠ scenes row 1, column 'chunks'") and "is not a whole number between 1 and" in message
    assert project_json.read_bytes() == before  # nothing was made or saved


def test_the_chunks_box_is_a_one_off_for_that_generation(served_studio):
    """Bug caught: Generate's Chunks box rewrote the scene's chunk count in the script for good (a lower
    number hid the later chunks until the count was raised again)."""
    demo, url = served_studio
    client, project_id, scene_ids = planned(url, scenes=1, chunks=3)
    message = client.predict(project_id, scene_ids[0], 1, api_name="/generate")[-1]
    assert message.startswith("Done: 1 new chunk, as asked") and "2 chunks still to make: set Chunks to 0 and press Continue" in message
    scene = load_project(folder_of(demo, project_id)).script.scene(scene_ids[0])
    assert scene.n_chunks == 3 and [c.status for c in scene.chunks] == ["ready"]
    assert client.predict(project_id, scene_ids[0], 0, api_name="/generate")[-1].startswith("Done: 2 new chunks")


def test_export_names_an_unmade_scene_and_a_rejected_chunk(served_studio):
    """Bugs caught: export left out a scene with nothing made (only the server log said so) and put a
    rejected chunk in the video without a word."""
    demo, url = served_studio
    client, project_id, scene_ids = planned(url, scenes=2, chunks=1)
    client.predict(project_id, scene_ids[0], 0, api_name="/generate")
    client.predict(project_id, scene_ids[0], 0, api_name="/reject_chunk")
    message = client.predict(project_id, False, api_name="/export")[3]
    assert message.startswith("⚠ Exported, but:")
    assert f"- scene {scene_ids[1]} is left out: it has no finished chunk yet; generate it to include it." in message
    assert f"- scene {scene_ids[0]}: chunk 0 is rejected but in the video;" in message


def test_the_timeline_format_is_followed_at_once_and_travels_in_the_archive(served_studio):
    """Bugs caught: a format picked after an export left the old file offered; the archive never held the
    timeline; the timeline was named after the session's project id, so a saved project kept a stale name."""
    demo, url = served_studio
    client, project_id, scene_ids = planned(url, scenes=1, chunks=1)
    client.predict(project_id, scene_ids[0], 0, api_name="/generate")
    _, _, archive, _, _ = client.predict(project_id, False, "Final Cut Pro 7 XML (.xml)", api_name="/export")
    with zipfile.ZipFile(archive) as zipped:
        assert "timeline.xml" in zipped.namelist()
    timeline, archive = client.predict(project_id, "CMX 3600 EDL (.edl)", api_name="/timeline_format")
    folder = folder_of(demo, project_id)
    assert timeline.endswith("timeline.edl") and "TITLE:" in open(timeline).read()
    assert sorted(p.name for p in folder.iterdir() if p.suffix in {".xml", ".edl", ".otio"}) == ["timeline.edl"]
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
    assert "timeline.edl" in names and "timeline.xml" not in names


def test_a_list_of_regenerations_across_scenes_is_one_job(served_studio):
    """Bug caught (a missing feature): several regenerations in one job existed in the CLI and API only;
    and a bad row must refuse the whole list before anything is made."""
    demo, url = served_studio
    client, project_id, scene_ids = planned(url, scenes=2, chunks=1)
    client.predict(project_id, "", 0, api_name="/generate")
    folder = folder_of(demo, project_id)
    before = (folder / "project.json").read_bytes()
    table = {"headers": ["scene", "chunk", "seed", "prompt"],
             "data": [[scene_ids[1], "0", "77", ""], [scene_ids[0], "0", "", "the fox leaps"]]}
    bad = {"headers": table["headers"], "data": table["data"] + [[scene_ids[0], "5", "", ""]]}
    assert client.predict(project_id, bad, False, api_name="/regenerate_chunks")[0].startswith(
        f"⚠ scene '{scene_ids[0]}' has no chunk 5")
    assert (folder / "project.json").read_bytes() == before

    outputs = list(client.submit(project_id, table, False, api_name="/regenerate_chunks"))
    messages = [output[0] for output in outputs]
    assert any(m.startswith("1 of 2 done:") for m in messages) and any(m.startswith("2 of 2 done:") for m in messages)
    assert messages[-1].startswith(f"Done: 2 chunks remade: {scene_ids[1]}:0 (take 2, seed 77), {scene_ids[0]}:0 (take 2")
    project = load_project(folder)
    assert [project.script.scene(s).chunks[0].take for s in scene_ids] == [2, 2]
    assert project.script.scene(scene_ids[0]).chunks[0].prompt == "the fox leaps"


@pytest.fixture
def stop_after_first(monkeypatch):
    """regenerate_chunk that presses Stop once its first chunk is made (as a creator would, mid-job)."""
    import studio.generate.stage as stage

    real, calls = stage.regenerate_chunk, []

    def regenerate_then_stop(*args, stop=None, **kwargs):
        event = real(*args, stop=stop, **kwargs)
        calls.append(event)
        stop.set()
        return event

    monkeypatch.setattr(stage, "regenerate_chunk", regenerate_then_stop)
    return calls


def test_stop_keeps_the_finished_regenerations_of_the_list(handlers, stop_after_first):
    """Bug caught: a stopped list must keep the chunk already remade and name the ones not made."""
    from studio.ui.batch_panel import BatchHandlers
    from studio.ui.state import SessionState
    from tests.ui.conftest import fake_request

    request, session = fake_request("alice"), SessionState()
    project_id, scene_rows, *_ = handlers.plan(PROMPT, "rules", 2, session, request)
    ids = [row[0] for row in scene_rows]
    for _ in handlers.generate(project_id, "", 0, session, request):
        pass
    rows = [[ids[0], 0, "5", ""], [ids[1], 0, "6", ""]]
    messages = [out[0] for out in BatchHandlers(handlers).regenerate_list(project_id, rows, False, session, request)]
    assert messages[-1] == (f"Stopped: 1 of 2 remade and kept ({ids[0]}:0 (take 2, seed 5)); not made: {ids[1]}:0.")
    project = load_project(handlers.workspace.locate("alice", project_id))
    assert project.script.scene(ids[0]).chunks[0].take == 2 and project.script.scene(ids[1]).chunks[0].take == 1
