"""The QA views: a strip of per-chunk drift checks under the Generate tab's timeline (a click on a row
opens that chunk's regeneration), and in the Export tab the drift plots and the editor timeline download.

The handlers are plain functions of the studio's Handlers (its preset, workspace and project lookup), so
they run the same stage code as `studio qa` and `studio export --timeline`.
"""

from __future__ import annotations

import random

import gradio as gr

from studio.errors import StudioError
from studio.project.model import MAX_SEED
from studio.ui.handlers import _session_hash
from studio.ui.inputs import user_errors

QA_COLUMNS = ["chunk", "check", "colour ΔE", "seam ×", "why"]
TIMELINE_FORMATS = {"OpenTimelineIO (.otio)": ".otio", "Final Cut Pro 7 XML (.xml)": ".xml",
                    "Final Cut Pro X (.fcpxml)": ".fcpxml", "CMX 3600 EDL (.edl)": ".edl"}


def qa_rows(report) -> list[list]:
    def number(value):
        return "" if value is None else f"{value:.1f}"

    return [[row.chunk, "FLAGGED" if row.flagged else "ok", number(row.colour_shift),
             number(None if row.seam_flow_ratio is None else max(row.seam_flow_ratio, row.seam_residual_ratio or 0)),
             row.reason] for row in report.chunks]


def make_handlers(handlers):
    """The QA handlers bound to the studio's `handlers` (a SimpleNamespace of three functions)."""
    from types import SimpleNamespace

    @user_errors
    def check_scene(project_id: str, scene_id: str, request: gr.Request):
        """The QA strip of one scene: (rows, message)."""
        from studio.qa.check import check_project

        project_dir, project = handlers._open(project_id, request)
        report = check_project(project_dir, handlers.preset, handlers._scene_id(project, scene_id))
        flagged = report.flagged()
        message = " ".join(report.notes + [f"{len(flagged)} of {len(report.chunks)} chunks flagged"
                                           + (": click one to regenerate it." if flagged else ".")])
        return qa_rows(report), message

    @user_errors
    def open_regeneration(project_id: str, scene_id: str, evt: gr.SelectData, request: gr.Request):
        """A click on a QA row: that chunk, a fresh seed and its prompt go into the regenerate form."""
        _, project = handlers._open(project_id, request)
        scene = project.script.scene(handlers._scene_id(project, scene_id))
        row = evt.row_value if getattr(evt, "row_value", None) else None
        index = int(row[0]) if row else int(evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index)
        prompt = scene.chunks[index].prompt if index < len(scene.chunks) else scene.prompt_for_chunk(index)
        return index, random.randint(0, MAX_SEED), prompt

    @user_errors
    def export_views(project_id: str, timeline_format: str, request: gr.Request, session=None):
        """After an export: the drift plots of every scene and the timeline file, (plots, timeline path)."""
        from studio.export.stage import EXPORT_DIR, count_frames
        from studio.export.timeline import write_timeline
        from studio.qa.check import check_project
        from studio.qa.plots import plot_report

        project_dir, project = handlers._open_to_change(project_id, request, session)  # the timeline is written there
        scene_files = [project_dir / EXPORT_DIR / f"{s.id}.mp4" for s in project.script.scenes]
        scene_files = [f for f in scene_files if f.is_file()]
        if not scene_files:
            raise StudioError("nothing exported yet: press Export first")
        report = check_project(project_dir, handlers.preset)
        exports = handlers.workspace.session_dir(_session_hash(request)) / "exports"
        titles = {s.id: s.title or s.id for s in project.script.scenes}
        plots = plot_report(report, handlers.preset.qa, exports / f"{project.id}-qa", titles)
        suffix = TIMELINE_FORMATS.get(timeline_format, ".otio")
        # Inside the project folder, beside export/, so its relative media paths resolve there and in the archive.
        timeline = write_timeline(project_dir, project, scene_files, [count_frames(f) for f in scene_files],
                                  int(handlers.preset.export.fps), project_dir / f"{project.id}{suffix}", report)
        return [str(p) for p in plots], str(timeline)

    return SimpleNamespace(check_scene=check_scene, open_regeneration=open_regeneration, export_views=export_views)


def build_generate_strip(ui) -> None:
    """Under the Generate tab's timeline: the QA strip of the scene shown."""
    ui.qa = make_handlers(ui.handlers)
    with gr.Row(equal_height=True):
        ui.qa_btn = gr.Button("Check drift", size="sm", scale=1, elem_id="qa-btn")
        ui.qa_msg = gr.Markdown(elem_classes=["inline-message"], elem_id="qa-msg")
    ui.qa_table = gr.Dataframe(headers=QA_COLUMNS, column_count=len(QA_COLUMNS), type="array", interactive=False,
                               wrap=True, label="Drift checks (click a flagged chunk to regenerate it)",
                               column_widths=["8%", "12%", "12%", "10%", "58%"], elem_id="qa-table", max_height=240)
    ui.qa_btn.click(ui.qa.check_scene, inputs=[ui.project_id, ui.gen_scene], outputs=[ui.qa_table, ui.qa_msg],
                    api_name="qa", **ui.gpu)  # CLIP may run on the GPU
    ui.qa_table.select(ui.qa.open_regeneration, inputs=[ui.project_id, ui.gen_scene],
                       outputs=[ui.chunk_index, ui.chunk_seed, ui.chunk_prompt], api_visibility="private")


def build_export_panel(ui) -> None:
    """In the Export tab: the drift plots per scene and the timeline for an editor, after each export."""
    ui.qa = getattr(ui, "qa", None) or make_handlers(ui.handlers)
    with gr.Row(equal_height=False):
        ui.timeline_format = gr.Dropdown(choices=list(TIMELINE_FORMATS), value=next(iter(TIMELINE_FORMATS)),
                                         label="Timeline for an editor", scale=1)
        ui.timeline_file = gr.File(label="Timeline (media paths relative to the project folder)", interactive=False,
                                   scale=2)
    ui.qa_plots = gr.Gallery(label="Drift per scene", columns=2, height=320, object_fit="contain")
    ui.export_event.then(ui.qa.export_views, inputs=[ui.project_id, ui.timeline_format, ui.session],
                         outputs=[ui.qa_plots, ui.timeline_file], api_visibility="private", **ui.gpu)
