"""The Refine tab: mode and strength, progress, the draft before and the refined scene after, the X-T slice."""

import gradio as gr

from studio.config import REFINE_MODES
from studio.project.model import MAX_SEED

MODE_INFO = ("randomized: a random cut in every overlap at every step (no seams) · shared-noise: one noise, fixed cut "
             "· naive: independent windows (shows the seams)")


def build(ui) -> None:
    h = ui.handlers
    refine = ui.preset.refine
    # The animatic has no refiner model: it upscales the draft, so blending, strength and seed do nothing there.
    has_refiner = ui.preset.models.backend != "animatic"
    with gr.Row(equal_height=True):
        ui.refine_scene = gr.Dropdown(choices=[], label="Scene", allow_custom_value=True, scale=2, elem_id="refine-scene")
        ui.refine_mode = gr.Radio(list(REFINE_MODES), value=refine.mode, label="Blending", info=MODE_INFO, scale=3,
                                    visible=has_refiner)
        if not has_refiner:
            gr.Markdown(f"The {ui.preset.name} preset has no refiner model: Refine upscales the draft "
                        f"to {refine.width}×{refine.height}.", elem_id="refine-note")
    with gr.Row(equal_height=False):
        ui.refine_strength = gr.Slider(0.05, 1.0, value=refine.strength, step=0.05, label="Strength",
                                       info="how much the refiner may change (SDEdit noise level)", scale=3,
                                       visible=has_refiner)
        ui.refine_seed = gr.Number(label="Seed", value=-1, precision=0, minimum=-1, maximum=MAX_SEED, scale=1,
                                   info="noise and cuts; -1: the scene's", visible=has_refiner)
        with gr.Column(scale=2, elem_classes=["action-buttons"]):
            ui.refine_btn = gr.Button("Refine", variant="primary", elem_id="refine-btn")
            ui.refine_stop_btn = gr.Button("Stop", variant="stop", size="sm")
    ui.refine_msg = gr.Markdown(elem_classes=["inline-message"], elem_id="refine-msg")
    with gr.Row(equal_height=True):
        ui.before_video = gr.Video(label=f"Before: draft ({ui.preset.streaming.width}×{ui.preset.streaming.height})",
                                   interactive=False, height=320, loop=True)
        ui.after_video = gr.Video(label=f"After: refined ({refine.width}×{refine.height})", interactive=False,
                                  height=320, loop=True)
    ui.xt_slice = gr.Image(label="X-T slice of the refined scene (one row of pixels over time: seams show as steps)",
                           interactive=False, height=220, buttons=["download", "fullscreen"], elem_id="xt-slice")
    ui.refine_event = ui.refine_btn.click(
        h.refine, inputs=[ui.project_id, ui.refine_scene, ui.refine_mode, ui.refine_strength, ui.refine_seed, ui.session],
        outputs=[ui.before_video, ui.after_video, ui.xt_slice, ui.refine_msg], api_name="refine", **ui.gpu)
    ui.refine_scene.input(h.show_refine, inputs=[ui.project_id, ui.refine_scene],
                          outputs=[ui.before_video, ui.after_video, ui.xt_slice, ui.refine_msg], api_visibility="private")
