"""One source of truth: after every change, every tab is drawn again from the project on disk.

`wire(ui)` runs once all tabs exist. It chains `follow_project` after every event that changes a
project (plan, edit, references, approval, generation, regeneration, refine, import, open, export),
so no tab keeps an older state. Each step is one dict of event arguments in `ui.tab_views`; a new
panel that draws from the project appends its own step there before `wire` runs (app.py), and it is
refreshed after every change too.

The steps never raise: with no project yet, or one that cannot be read, they leave the page as it is
(an error badge on every tab would hide the one message that matters).
"""

from __future__ import annotations

import time

import gradio as gr

from studio.errors import StudioError
from studio.ui import views


def _keep(value: str | None, choices: list[tuple[str, str]]) -> str | None:
    """The selected value when it is still a choice, else the first choice (None when there are none)."""
    ids = [choice[1] for choice in choices]
    return value if value in ids else (ids[0] if ids else None)


class TabRenderer:
    """Renders each tab's project-derived parts from the project as it is on disk now."""

    def __init__(self, handlers):
        self.handlers = handlers

    def _load(self, project_id: str, request: gr.Request):
        try:
            return self.handlers._open(project_id, request)
        except StudioError:
            return None, None

    def plan_tables(self, project_id: str, request: gr.Request):
        """The prompt and the script tables."""
        from studio.plan.tables import script_to_rows

        _, project = self._load(project_id, request)
        if project is None:
            return gr.skip(), gr.skip(), gr.skip()
        scene_rows, entity_rows = script_to_rows(project.script)
        return project.script.prompt, scene_rows, entity_rows

    def tabs(self, project_id: str, ref_entity: str, gen_scene: str, refine_scene: str, request: gr.Request):
        """The summary, the reference cards and scene images, the scene and entity choices, the final video."""
        project_dir, project = self._load(project_id, request)
        if project is None:
            return (gr.skip(),) * 8
        choices = views.scene_choices(project)
        entity_choices = [("All entities", "")] + [(e.name or e.id, e.id) for e in project.script.entities]
        entity_value = ref_entity if ref_entity in [c[1] for c in entity_choices] else ""
        return (self.handlers._summary(project_dir, project), views.entity_cards(project, project_dir),
                views.scene_gallery(project, project_dir), views.scene_images_note(project, project_dir),
                gr.update(choices=entity_choices, value=entity_value),
                gr.update(choices=choices, value=_keep(gen_scene, choices)),
                gr.update(choices=choices, value=_keep(refine_scene, choices)),
                views.final_video(project_dir))

    def generate_view(self, project_id: str, scene_id: str, request: gr.Request):
        project_dir, project = self._load(project_id, request)
        if project is None or not project.script.scenes:
            return gr.skip(), gr.skip(), gr.skip()
        scene = project.script.scene(_keep(scene_id, views.scene_choices(project)))
        return views.timeline_html(scene), views.timeline_rows(scene), views.draft_video(project_dir, scene)

    def refine_view(self, project_id: str, scene_id: str, request: gr.Request):
        project_dir, project = self._load(project_id, request)
        if project is None or not project.script.scenes:
            return gr.skip(), gr.skip(), gr.skip()
        return views.refine_views(project_dir, project.script.scene(_keep(scene_id, views.scene_choices(project))))


    def metrics(self, project_id: str, request: gr.Request):
        """The Export tab's metrics table and per-chunk plots (one per score), from the report the last export saved."""
        from studio.ui import metrics_view

        _, project = self._load(project_id, request)
        report = None if project is None else metrics_view.load_report(self.handlers.metrics_dir(project.id, request))
        if report is None:
            return (gr.update(value=[], visible=False),) + (gr.update(value=None, visible=False),) * len(metrics_view.PLOT_SCORES)
        import pandas as pd

        plots = []
        for key, label in metrics_view.PLOT_SCORES.items():
            points = pd.DataFrame(metrics_view.score_points(report, key), columns=["chunk", label])
            plots.append(gr.update(value=points, visible=not points.empty))
        return (gr.update(value=metrics_view.metrics_rows(report), visible=True), *plots)


def clear_chunk_form():
    """Another scene was picked: the regenerate form must not keep the previous scene's chunk, nor its player."""
    return 0, -1, "", None, ""


def changed_marker() -> int:
    """A new value for `ui.project_changed`, whose change event redraws every tab."""
    return time.time_ns()


def install(ui) -> None:
    """Before the tabs are built: the renderer, the list of steps and the marker that dynamic events set."""
    ui.renderer = TabRenderer(ui.handlers)
    ui.project_changed = gr.State(0)
    ui.tab_views = []


def wire(ui) -> None:
    """After the tabs are built: the steps in `ui.tab_views`, chained after every event that changes the project."""
    r, private = ui.renderer, {"api_visibility": "private", "show_progress": "hidden"}
    ui.plan_tables_view = dict(fn=r.plan_tables, inputs=[ui.project_id],
                               outputs=[ui.prompt, ui.scenes_df, ui.entities_df], **private)
    ui.tab_views[:0] = [
        dict(fn=r.tabs, inputs=[ui.project_id, ui.ref_entity, ui.gen_scene, ui.refine_scene],
             outputs=[ui.summary, ui.cards, ui.scene_gallery, ui.scene_images_msg, ui.ref_entity, ui.gen_scene,
                      ui.refine_scene, ui.final_video], **private),
        dict(fn=r.generate_view, inputs=[ui.project_id, ui.gen_scene],
             outputs=[ui.timeline, ui.timeline_df, ui.draft_video], **private),
        dict(fn=r.refine_view, inputs=[ui.project_id, ui.refine_scene],
             outputs=[ui.before_video, ui.after_video, ui.xt_slice], **private),
        dict(fn=r.metrics, inputs=[ui.project_id], outputs=[ui.metrics_table, *ui.metrics_plots], **private),
    ]
    # Events whose own outputs already hold the tables (or whose table is under the user's cursor).
    for event in ui.edit_events + [ui.plan_event]:
        follow_project(ui, event, tables=False)
    for event in ui.change_events:
        follow_project(ui, event)
    follow_project(ui, ui.project_changed.change(lambda: None, **private), tables=False)
    # After Open, Import or Plan: what the page said about the project before (messages, exported files,
    # the selected chunk) is cleared; the project's own state is drawn by the steps above.
    messages = [ui.gen_msg, ui.chunk_msg, ui.refine_msg, ui.qa_msg, ui.batch_msg, ui.metrics]
    files = [ui.chunk_video, ui.xt_slice, ui.archive_file, ui.scene_files, ui.timeline_file]
    galleries = [ui.qa_table, ui.qa_plots, ui.plots]
    for event in ui.project_switch_events + [ui.plan_event]:
        event.then(lambda: ("",) * len(messages) + (None,) * len(files) + ([],) * len(galleries),
                   outputs=messages + files + galleries, **private)
    ui.gen_scene.input(clear_chunk_form, outputs=[ui.chunk_index, ui.chunk_seed, ui.chunk_prompt, ui.chunk_video,
                                                  ui.chunk_msg], **private)


def follow_project(ui, event, *, tables: bool = True):
    """Chain every tab's redraw after `event` (also after a failed one: what is on disk is the truth)."""
    follow = event.then(**ui.plan_tables_view) if tables else event
    for view in ui.tab_views:
        follow = follow.then(**view)
    return follow
