"""The Export tab: the final video, per-scene files, the project archive and the metrics."""

import gradio as gr

from studio.ui import qa_panel


def build(ui) -> None:
    h = ui.handlers
    with gr.Row(equal_height=True):
        ui.with_metrics = gr.Checkbox(label="Measure the video (SCuts, MAWE, CLIP score, seam score)", value=True, scale=2)
        ui.timeline_format = gr.Dropdown(choices=list(qa_panel.TIMELINE_FORMATS), value=next(iter(qa_panel.TIMELINE_FORMATS)),
                                         label="Timeline for an editor", scale=2, elem_id="timeline-format")
        ui.export_btn = gr.Button("Export", variant="primary", scale=1, elem_id="export-btn")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            ui.final_video = gr.Video(label="Final video", interactive=False, height=360, elem_id="final-video")
        with gr.Column(scale=2):
            ui.archive_file = gr.File(label="Project archive (.zip: reopen it with Import)", interactive=False)
            ui.scene_files = gr.File(label="Scene files", file_count="multiple", interactive=False)
    ui.metrics = gr.Markdown(elem_classes=["metrics"], elem_id="metrics")
    with gr.Row(equal_height=False):
        from studio.ui.metrics_view import METRIC_COLUMNS, PLOT_SCORES

        ui.metrics_table = gr.Dataframe(headers=METRIC_COLUMNS, column_count=len(METRIC_COLUMNS), type="array",
                                        interactive=False, wrap=True, label="Metrics", elem_id="metrics-table",
                                        visible=False, scale=3, column_widths=["18%", "22%", "60%"])
        # One plot per score: they are in different units (pixels per frame, decibels), each on its own axis.
        with gr.Column(scale=2):
            ui.metrics_plots = [gr.LinePlot(x="chunk", y=label, label=f"{label} per chunk (8 frames each)",
                                            elem_id=f"metrics-plot-{key}", visible=False, height=200, x_title="chunk",
                                            y_title=label)
                                for key, label in PLOT_SCORES.items()]
    ui.plots = gr.Gallery(label="Metric plots", columns=2, height=320, object_fit="contain")
    ui.export_event = ui.export_btn.click(
        h.export, inputs=[ui.project_id, ui.with_metrics, ui.session, ui.timeline_format],
        outputs=[ui.final_video, ui.scene_files, ui.archive_file, ui.metrics, ui.plots], api_name="export", **ui.gpu)
    qa_panel.build_export_panel(ui)
