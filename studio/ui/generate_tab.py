"""The Generate tab: a live video that grows chunk by chunk, the chunk timeline, regenerate one chunk, Stop."""

import gradio as gr

from studio.ui import batch_panel, qa_panel, takes_panel
from studio.ui.generate_handlers import MAX_SEED_IN_PAGE
from studio.ui.views import TIMELINE_COLUMNS, timeline_html


def build(ui) -> None:
    h = ui.handlers
    with gr.Row(equal_height=False):
        ui.gen_scene = gr.Dropdown(choices=[], label="Scene", allow_custom_value=True, scale=3, elem_id="gen-scene")
        # Fewer than the scene's count is a one-off (the script keeps its count); more adds chunks to the scene.
        ui.gen_chunks = gr.Number(label="Chunks", value=0, precision=0, minimum=0, maximum=h.max_chunks(), scale=1,
                                  info="0: the script's count; fewer: only those, this time; more: adds chunks",
                                  elem_id="gen-chunks")
        with gr.Column(scale=2, elem_classes=["action-buttons"]):
            ui.gen_btn = gr.Button("Generate", variant="primary", elem_id="generate-btn")
            with gr.Row():
                ui.continue_btn = gr.Button("Continue", size="sm", elem_id="continue-btn")
                ui.stop_btn = gr.Button("Stop", variant="stop", size="sm", elem_id="stop-btn")
    ui.gen_msg = gr.Markdown(elem_classes=["inline-message"], elem_id="gen-msg")
    with gr.Row(equal_height=True):
        ui.live_video = gr.Video(label="Live preview (one segment per finished chunk)", streaming=True, autoplay=True,
                                 interactive=False, elem_id="live-video", height=320)
        ui.draft_video = gr.Video(label="Scene draft", interactive=False, elem_id="draft-video", height=320,
                                  autoplay=False, loop=True)
    ui.timeline = gr.HTML(timeline_html(None), elem_id="timeline")
    # The whole width: every header and a 10-digit seed fit in their columns.
    ui.timeline_df = gr.Dataframe(headers=TIMELINE_COLUMNS, column_count=len(TIMELINE_COLUMNS), type="array",
                                  interactive=False, wrap=True, label="Chunks (click one to regenerate it)",
                                  column_widths=["7%", "12%", "18%", "8%", "13%", "8%", "34%"],
                                  elem_id="timeline-table", max_height=300)
    with gr.Row(equal_height=False):
        with gr.Column(scale=2):
            ui.chunk_video = gr.Video(label="Selected chunk (its active take)", interactive=False, height=260,
                                      elem_id="chunk-video")
        with gr.Column(scale=3, elem_classes=["regen-form"]):
            with gr.Row():
                ui.chunk_index = gr.Number(label="Chunk", value=0, precision=0, minimum=0, maximum=h.max_chunks() - 1,
                                           elem_id="chunk-index")
                # The animatic draws a chunk from the scene alone: a seed would change nothing there.
                ui.chunk_seed = gr.Number(label="New seed", value=-1, precision=0, minimum=-1, maximum=MAX_SEED_IN_PAGE,
                                          info="-1: the recorded one", visible=ui.preset.models.backend != "animatic")
            ui.chunk_prompt = gr.Textbox(label="Prompt for this chunk", lines=2, max_length=2000,
                                         placeholder="empty: the scene's prompt")
            ui.keep_later = gr.Checkbox(label="Keep later chunks (heal the seam)", value=False, elem_id="keep-later",
                                        info="the later chunks stay ready; the old version stays a take")
            ui.regen_btn = gr.Button("Regenerate chunk", variant="primary", elem_id="regen-btn")
            ui.chunk_msg = gr.Markdown(elem_classes=["inline-message"], elem_id="chunk-msg")

    gen_inputs = [ui.project_id, ui.gen_scene, ui.gen_chunks, ui.session]
    gen_outputs = [ui.live_video, ui.timeline, ui.timeline_df, ui.draft_video, ui.gen_msg]
    ui.gen_event = ui.gen_btn.click(h.generate, inputs=gen_inputs, outputs=gen_outputs, api_name="generate", **ui.gpu)
    ui.continue_event = ui.continue_btn.click(h.generate, inputs=gen_inputs, outputs=gen_outputs,
                                              api_visibility="private", **ui.gpu)
    ui.regen_event = ui.regen_btn.click(
        h.regenerate_chunk, inputs=[ui.project_id, ui.gen_scene, ui.chunk_index, ui.chunk_seed, ui.chunk_prompt, ui.session,
                                       ui.keep_later],
        outputs=[ui.chunk_video, ui.timeline, ui.timeline_df, ui.draft_video, ui.chunk_msg], api_name="regenerate_chunk",
        **ui.gpu)
    ui.timeline_df.select(h.select_chunk, inputs=[ui.project_id, ui.gen_scene],
                          outputs=[ui.chunk_index, ui.chunk_seed, ui.chunk_prompt, ui.chunk_msg], api_visibility="private")
    ui.gen_scene.input(h.show_scene, inputs=[ui.project_id, ui.gen_scene],
                       outputs=[ui.timeline, ui.timeline_df, ui.draft_video], api_visibility="private")
    takes_panel.build(ui)
    qa_panel.build_generate_strip(ui)
    batch_panel.build(ui)
