"""The Plan tab: the prompt, the planner, and the scenes and entities (the script) as editable tables."""

import gradio as gr

from studio.config import PLANNERS
from studio.project.model import MAX_SCENES

# Column widths for the standard scene columns (id, title, event, entities, background, camera, chunks, prompts).
# Backends whose models are built with random weights: their LLM plans run, but say nothing usable.
RANDOM_WEIGHT_BACKENDS = ("tiny", "random")
SCENE_WIDTHS = ["9%", "14%", "26%", "12%", "12%", "9%", "7%", "11%"]


def _columns():
    from studio.plan.tables import ENTITY_COLUMNS, SCENE_COLUMNS

    return list(SCENE_COLUMNS), list(ENTITY_COLUMNS)


def build(ui) -> None:
    """Lay out the tab and wire its events; components are attached to `ui`."""
    h = ui.handlers
    scene_columns, entity_columns = _columns()
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            ui.prompt = gr.Textbox(label="Prompt", lines=3, max_lines=8, max_length=2000, elem_id="prompt",
                                   placeholder="A red fox explores a snowy forest at dawn, then meets an owl by a frozen lake.")
            if ui.examples:
                gr.Examples(examples=[[e] for e in ui.examples], inputs=[ui.prompt], label="Examples")
        with gr.Column(scale=1, min_width=220):
            runnable, info = planner_choices(ui.preset)
            ui.planner = gr.Radio(runnable, value=ui.preset.planning.planner if ui.preset.planning.planner in runnable
                                  else runnable[0], label="Planner", info=info, elem_id="planner")
            ui.num_scenes = gr.Number(label="Scenes", value=0, precision=0, minimum=0, maximum=MAX_SCENES,
                                      info="0: one per event in the prompt")
            ui.plan_btn = gr.Button("Plan", variant="primary", elem_id="plan-btn")
    ui.script_msg = gr.Markdown(elem_classes=["inline-message"], elem_id="plan-msg")
    ui.scenes_df = gr.Dataframe(headers=scene_columns, column_count=len(scene_columns), datatype="str", type="array",
                                interactive=True, wrap=True, label="Scenes", elem_id="scenes-table",
                                column_widths=SCENE_WIDTHS if len(scene_columns) == len(SCENE_WIDTHS) else None,
                                show_row_numbers=True, max_height=420)
    with gr.Row():
        ui.add_scene_btn = gr.Button("Add scene", size="sm", scale=1)
        ui.remove_row = gr.Number(label="Row to remove (0 = the last)", value=0, precision=0,
                                  minimum=0, maximum=MAX_SCENES, scale=1, min_width=160, elem_classes=["compact-number"])
        ui.remove_scene_btn = gr.Button("Remove scene", size="sm", scale=1)
        # Every cell edit is saved as it is made; the button stays for the /apply_script API only.
        ui.apply_btn = gr.Button("Apply edits", variant="primary", size="sm", elem_id="apply-btn", scale=1,
                                 visible=False)
    ui.entities_df = gr.Dataframe(headers=entity_columns, column_count=len(entity_columns), datatype="str",
                                  type="array", interactive=True, wrap=True, label="Entities",
                                  elem_id="entities-table", show_row_numbers=True, max_height=320)

    ui.plan_event = ui.plan_btn.click(
        h.plan, inputs=[ui.prompt, ui.planner, ui.num_scenes, ui.session],
        outputs=[ui.project_id, ui.scenes_df, ui.entities_df, ui.script_msg], api_name="plan", **ui.gpu)
    edit_inputs = [ui.project_id, ui.prompt, ui.scenes_df, ui.entities_df, ui.session]  # the session: owner check
    ui.edit_events = [ui.apply_btn.click(h.apply_script, inputs=edit_inputs,
                                         outputs=[ui.scenes_df, ui.entities_df, ui.script_msg], api_name="apply_script")]
    # Adding or removing a row saves at once, like a cell edit (a removed scene is gone from every tab); a
    # refused one (row 9 of 4) saves nothing and its line stays.
    tables = [ui.scenes_df, ui.entities_df, ui.script_msg]
    row_inputs = [ui.project_id, ui.prompt, ui.scenes_df, ui.entities_df, ui.remove_row, ui.session]
    for button, handler in ((ui.add_scene_btn, h.add_and_save), (ui.remove_scene_btn, h.remove_and_save)):
        ui.edit_events.append(button.click(handler, inputs=row_inputs, outputs=tables, api_visibility="private"))
    # Every cell edit is checked (and saved when valid) at once: a bad cell is named inline, nothing is lost;
    # what saving normalised (a new row's id, a camera move's wording) is shown as saved.
    for table in (ui.scenes_df, ui.entities_df):
        ui.edit_events.append(table.input(h.check_script, inputs=edit_inputs, outputs=tables,
                                          api_visibility="private", trigger_mode="always_last"))


def planner_choices(preset) -> tuple[list[str], str]:
    """The planners this preset can run, and a line saying what each does and why the others are not offered."""
    from studio.offline import planner_unavailable

    what = {"rules": "rules: offline", "local": "local: a small LLM", "remote": "remote: an endpoint"}
    runnable = [p for p in PLANNERS if not planner_unavailable(preset, p)]
    missing = [planner_unavailable(preset, p) for p in PLANNERS if p not in runnable]
    if "local" in runnable and preset.models.backend in RANDOM_WEIGHT_BACKENDS:  # it runs, but writes nonsense
        runnable.remove("local")
        missing.append(f"local: the {preset.name} preset's LLM has random weights and writes gibberish titles "
                       "(it tests the pipeline: python -m studio plan --planner local)")
    info = " · ".join(what.get(p, p) for p in runnable)
    return runnable, info + ("" if not missing else " (not offered: " + "; ".join(missing) + ")")

