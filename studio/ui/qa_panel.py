"""The QA views: a strip of per-chunk drift checks under the Generate tab's timeline (a click on a row
opens that chunk's regeneration), and in the Export tab the drift plots and the editor timeline download.

The handlers are plain functions of the studio's Handlers (its preset, workspace and project lookup), so
they run the same stage code as `studio qa` and `studio export --timeline`.
"""

from __future__ import annotations

import random

import gradio as gr

from studio.errors import StudioError
from studio.ui.handlers import _session_hash
from studio.ui.inputs import inline_errors, parse_count, user_errors

QA_COLUMNS = ["chunk", "check", "colour ΔE", "seam ×", "why"]
TIMELINE_FORMATS = {"OpenTimelineIO (.otio)": ".otio", "Final Cut Pro 7 XML (.xml)": ".xml",
                    "Final Cut Pro X (.fcpxml)": ".fcpxml", "CMX 3600 EDL (.edl)": ".edl"}


def qa_rows(report) -> list[list]:
    def number(value):
        return "" if value is None else f"{value:.1f}"

    return [[row.chunk, "FLAGGED" if row.flagged else "ok", number(row.colour_shift),
             number(None if row.seam_flow_ratio is None else max(row.seam_flow_ratio, row.seam_residual_ratio or 0)),
             row.reason] for row in report.chunks]


def timeline_suffix(timeline_format: str | None) -> str:
    """The file suffix of a format offered in the Export tab (.otio when none or an unknown one is given)."""
    return TIMELINE_FORMATS.get(timeline_format or "", ".otio")


def qa_line(report) -> str:
    """The QA strip's message: its notes and the count of flagged chunks, each a sentence."""
    flagged = report.flagged()
    notes = [note if note.endswith((".", "!", "?")) else f"{note}." for note in report.notes]
    count = f"{len(flagged)} of {len(report.chunks)} chunks flagged" + (": click one to regenerate it." if flagged else ".")
    return " ".join(notes + [count[:1].upper() + count[1:]])


def make_handlers(handlers):
    """The QA handlers bound to the studio's `handlers` (a SimpleNamespace of functions)."""
    from types import SimpleNamespace

    from studio.ui.generate_handlers import MAX_SEED_IN_PAGE, selected_index

    @user_errors
    def check_scene(project_id: str, scene_id: str, request: gr.Request):
        """The QA strip of one scene: (rows, message)."""
        from studio.qa.check import check_project

        project_dir, project = handlers._open(project_id, request)
        report = check_project(project_dir, handlers.preset, handlers._scene_id(project, scene_id))
        return qa_rows(report), qa_line(report)

    @inline_errors(outputs=4)
    def open_regeneration(project_id: str, scene_id: str, evt: gr.SelectData, request: gr.Request):
        """A click on a QA row: that chunk, a fresh seed and its prompt go into the regenerate form."""
        _, project = handlers._open(project_id, request)
        scene = project.script.scene(handlers._scene_id(project, scene_id))
        row = getattr(evt, "row_value", None)
        if row:
            index = parse_count(row[0], "the chunk of that row", 0, max(0, len(scene.chunks) - 1))
        else:
            index = selected_index(evt, len(scene.chunks))
        prompt = scene.chunks[index].prompt if index < len(scene.chunks) else scene.prompt_for_chunk(index)
        return index, random.randint(0, MAX_SEED_IN_PAGE), prompt, ""

    def _exported(project_dir, project):
        from studio.export.stage import EXPORT_DIR

        files = [project_dir / EXPORT_DIR / f"{s.id}.mp4" for s in project.script.scenes]
        return [f for f in files if f.is_file()]

    @user_errors
    def export_views(project_id: str, timeline_format: str, request: gr.Request, session=None):
        """After an export: the drift plots of every scene and the timeline export wrote, (plots, timeline)."""
        from studio.export.timeline import project_timeline
        from studio.qa.check import check_project
        from studio.qa.plots import plot_report

        project_dir, project = handlers._open(project_id, request)
        if not _exported(project_dir, project):
            return gr.skip(), gr.skip()  # the export was refused: its message says why
        report = check_project(project_dir, handlers.preset)
        exports = handlers.workspace.session_dir(_session_hash(request)) / "exports"
        titles = {s.id: s.title or s.id for s in project.script.scenes}
        plots = plot_report(report, handlers.preset.qa, exports / f"{project.id}-qa", titles)
        timeline = project_timeline(project_dir, timeline_suffix(timeline_format))
        return [str(p) for p in plots], str(timeline) if timeline.is_file() else None

    @user_errors
    def change_timeline_format(project_id: str, timeline_format: str, request: gr.Request, session=None):
        """The format picked: the timeline in it replaces the offered one, and the archive is written again
        to hold it; with nothing exported yet both stay empty. Returns (timeline, archive)."""
        from studio.export.archive import export_archive
        from studio.export.stage import count_frames
        from studio.export.timeline import export_timeline, project_timeline, remove_other_timelines

        if not (project_id or "").strip():
            return None, gr.skip()
        try:
            project_dir, project = handlers._open_to_change(project_id, request, session)
        except StudioError:
            return None, gr.skip()  # not this session's to change: nothing is offered in its place
        scene_files = _exported(project_dir, project)
        if not scene_files:
            return None, gr.skip()
        timeline = project_timeline(project_dir, timeline_suffix(timeline_format))
        remove_other_timelines(project_dir, keep=timeline)
        export_timeline(project_dir, scene_files, [count_frames(f) for f in scene_files], handlers.preset, timeline)
        archive = handlers.workspace.session_dir(_session_hash(request)) / "exports" / f"{project.id}.zip"
        if not archive.is_file():
            return str(timeline), gr.skip()
        return str(timeline), str(export_archive(project_dir, archive))

    return SimpleNamespace(check_scene=check_scene, open_regeneration=open_regeneration, export_views=export_views,
                           change_timeline_format=change_timeline_format)


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
                       outputs=[ui.chunk_index, ui.chunk_seed, ui.chunk_prompt, ui.chunk_msg], api_visibility="private")


def build_export_panel(ui) -> None:
    """In the Export tab: the drift plots per scene and the timeline export wrote (ui.timeline_format picks it)."""
    ui.qa = getattr(ui, "qa", None) or make_handlers(ui.handlers)
    ui.timeline_file = gr.File(label="Timeline for an editor (media paths relative to the project folder; also in "
                               "the archive)", interactive=False, elem_id="timeline-file")
    ui.qa_plots = gr.Gallery(label="Drift per scene", columns=2, height=320, object_fit="contain")
    ui.export_event.then(ui.qa.export_views, inputs=[ui.project_id, ui.timeline_format, ui.session],
                         outputs=[ui.qa_plots, ui.timeline_file], api_visibility="private", **ui.gpu)
    ui.timeline_format.input(ui.qa.change_timeline_format, inputs=[ui.project_id, ui.timeline_format, ui.session],
                             outputs=[ui.timeline_file, ui.archive_file], api_name="timeline_format", **ui.gpu)
