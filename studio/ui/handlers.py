"""The event handlers: plain functions of plain inputs (a project id and the stage's arguments).

Every handler finds its project through the caller's own session (`Workspace.locate`), calls the same
stage function as the CLI, and returns what the tab shows. Because the inputs are plain values, the
named API endpoints (/plan, /references, /generate, ...) work from gradio_client as they do from the
page; `SessionState` (the stop flag) comes from gr.State, which the API leaves out.

Errors: a StudioError becomes a one-line gr.Error; anything else is logged with its traceback on the
server and shown as one line. Script-table problems are shown inline instead, and the edits are kept.
"""

import logging
import random
from pathlib import Path
from typing import Any

import gradio as gr

from studio.config import PLANNERS, REFINE_MODES, Preset
from studio.errors import StudioError, ValidationError
from studio.gpu import gpu_entry
from studio.project.layout import open_project as open_project_folder
from studio.project.model import MAX_CHUNKS_PER_SCENE, MAX_SCENES, Project, load_project, scene_ids_to_make
from studio.project.paths import ProjectPaths
from studio.project.progress import SceneChangedError
from studio.references.messages import regenerated_message
from studio.ui import metrics_view, owners, scene_images, views
from studio.ui.inputs import (  # noqa: F401 - check_upload and parse_count are part of this module's API
    MAX_UPLOAD_BYTES,
    _rows,
    _walk_values,
    check_upload,
    inline_errors,
    one_line,
    parse_count,
    parse_seed,
    progress_adapter,
    refused,
    user_errors,
)
from studio.ui.generate_handlers import GenerateHandlers
from studio.ui.script_edits import ScriptEdits
from studio.ui.state import SessionState, Workspace
from studio.ui.visitors import visitor_of

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
# ZeroGPU budget of each GPU entry point, in seconds (ignored off Spaces).
# generate and regenerate_chunk are absent: the stage asks for the GPU once per chunk
# (studio.generate.gpu_chunk), and a call wrapped around the whole handler would swallow those calls.
GPU_SECONDS = {"plan": 60, "references": 120, "refine": 300, "export": 120}


def _session_hash(request: gr.Request | None):
    """Whose projects this request reaches: its signed-in account, else its session (which the workspace maps
    to the browser its page named); see studio/ui/visitors.py."""
    return visitor_of(request)


class Handlers(ScriptEdits, GenerateHandlers):
    """All handlers of one studio (one preset, one projects root)."""

    def __init__(self, preset: Preset, workspace: Workspace):
        from studio.cluster.service import cluster_jobs  # light: Ray is imported on the first cluster job

        self.preset = preset
        self.workspace = workspace
        # Generate, Regenerate and Refine on Ray workers when a cluster is asked for, else in this process.
        self.cluster = cluster_jobs(preset)
        self.gpu_jobs_at_once = self.cluster.workers if self.cluster else 1
        # The GPU entry points: a ZeroGPU slice per call on Spaces, unchanged everywhere else.
        for name, seconds in GPU_SECONDS.items():
            setattr(self, name, gpu_entry(duration=seconds)(getattr(self, name)))

    # ------------------------------------------------------------------ helpers

    def _remember(self, request: gr.Request | None, session: SessionState | None) -> None:
        """Note the session id (the state's delete callback needs it) and, for an account or a browser, its owner key."""
        if session is None or request is None:
            return
        session.session_hash = request.session_hash
        visitor_key = self.workspace.visitor(_session_hash(request)).owner_key
        if visitor_key:  # an API session keeps the key made when it first saves
            session.owner_key = visitor_key

    def _open(self, project_id: str, request: gr.Request | None, session: SessionState | None = None) -> tuple[Path, Project]:
        self._remember(request, session)
        project_dir = self.workspace.locate(_session_hash(request), project_id)
        return project_dir, load_project(project_dir)

    def _open_to_change(self, project_id: str, request: gr.Request | None,
                        session: SessionState | None) -> tuple[Path, Project]:
        """`_open` for a handler that writes: a saved project only for the session that owns it."""
        project_dir, project = self._open(project_id, request, session)
        owners.check_can_change(self.workspace, project_dir, session)
        return project_dir, project

    def _summary(self, project_dir: Path, project: Project) -> str:
        return views.project_summary(project, self.workspace.is_saved(project_dir), project_dir)

    def _scene_id(self, project: Project, scene_id: str | None) -> str:
        return scene_ids_to_make(project, scene_id or None)[0]

    # ------------------------------------------------------------------ project bar

    @user_errors
    def open_project(self, project_id: str, session: SessionState, request: gr.Request):
        """Open a project of this session or a saved one by id (another session's saved one as a copy)."""
        self._remember(request, session)
        project_dir, copied = owners.open_for_session(self.workspace, _session_hash(request), session, project_id)
        project = open_project_folder(project_dir)  # swept of what a killed run left (an old layout moved first)
        if copied:
            return project.id, (f"**{project_id.strip()}** belongs to another session: opened a copy of it, "
                                f"**{project.id}**, in this session (Save it under a name of your own to keep it).")
        return project.id, f"Opened **{project.id}**."

    @user_errors
    def save_project(self, project_id: str, name: str, session: SessionState, request: gr.Request):
        """Keep the project after the session ends, under `name` (default: its id)."""
        self._remember(request, session)
        saved_id, _ = owners.save(self.workspace, _session_hash(request), session, project_id, name)
        return saved_id, f"Saved as **{saved_id}**: reopen it by this id at any time."

    @user_errors
    def import_project(self, archive: Any, request: gr.Request):
        """Import a project archive (.zip) into this session."""
        from studio.export.archive import import_archive

        path = check_upload(archive, (".zip",), "archive")
        # A fresh id, never the archive's: an id taken from an archive could be a name someone means to save under.
        project_id, project_dir = self.workspace.new_project_dir(_session_hash(request))
        project_dir.parent.mkdir(parents=True, exist_ok=True)
        project_dir = import_archive(path, project_dir.parent, project_id=project_id)
        return Path(project_dir).name, f"Imported **{Path(project_dir).name}** into this session."

    # ------------------------------------------------------------------ 1. plan

    @inline_errors(outputs=4)
    def plan(self, prompt: str, planner: str, num_scenes: Any, session: SessionState, request: gr.Request,
             progress=gr.Progress()):
        """Plan a new project from a prompt: returns its id, the scene and entity tables, a message."""
        from studio.plan.stage import plan_project
        from studio.plan.tables import script_to_rows

        if not (prompt or "").strip():
            raise ValidationError("the prompt is empty: describe the video you want in a sentence or two")
        if planner and planner not in PLANNERS:
            raise ValidationError(f"planner {planner!r} must be one of {', '.join(PLANNERS)}")
        from studio.offline import planner_unavailable

        if planner and planner_unavailable(self.preset, planner):
            raise ValidationError(f"{planner_unavailable(self.preset, planner)}: pick the rules planner")
        scenes = parse_count(num_scenes, "number of scenes", 0, MAX_SCENES) or None
        self._remember(request, session)
        progress(0.1, desc="writing the script")
        project_id, project_dir = self.workspace.new_project_dir(_session_hash(request))
        project = plan_project(project_dir, prompt.strip(), self.preset, planner=planner or None, num_scenes=scenes)
        scene_rows, entity_rows = script_to_rows(project.script)
        message = (f"Planned {views.count_of(len(project.script.scenes), 'scene')} and "
                   f"{views.count_of(len(project.script.entities), 'entity')}. Edit the tables, then make the references.")
        return project.id, scene_rows, entity_rows, message

    # ------------------------------------------------------------------ 2. cast

    @inline_errors(outputs=3)
    def references(self, project_id: str, entity_id: str, seed: Any, approve: bool, session: SessionState,
                   request: gr.Request, progress=gr.Progress()):
        """Make the entity references and scene images (or one entity's again, with a new seed)."""
        from studio.references.stage import make_references

        project_dir, project = self._open_to_change(project_id, request, session)
        entity_id = (entity_id or "").strip() or None
        was_approved = entity_id is not None and project.script.entity(entity_id).status == "approved"
        project = make_references(project_dir, self.preset, entity_id=entity_id, seed=parse_seed(seed),
                                  approve=bool(approve), progress=progress_adapter(progress))
        made = sum(1 for e in project.script.entities if ProjectPaths(project_dir).entity_image(e.id).is_file())
        message = f"{made} of {len(project.script.entities)} references made; approve each one or regenerate it."
        if entity_id is not None:
            message = regenerated_message(project.script.entity(entity_id), was_approved)
        return views.entity_cards(project, project_dir), views.scene_gallery(project, project_dir), message

    @user_errors
    def set_entity_status(self, project_id: str, entity_id: str, status: str, request: gr.Request,
                          session: SessionState | None = None):
        from studio.references.stage import set_entity_status

        project_dir, _ = self._open_to_change(project_id, request, session)
        project = self._remake_scene_images_if_cheap(project_dir, set_entity_status(project_dir, entity_id, status))
        return views.entity_cards(project, project_dir)

    @user_errors
    def upload_entity(self, project_id: str, entity_id: str, upload: Any, request: gr.Request,
                      session: SessionState | None = None):
        from studio.references.stage import upload_entity_image

        project_dir, _ = self._open_to_change(project_id, request, session)
        path = check_upload(upload, IMAGE_SUFFIXES, "image")
        project = self._remake_scene_images_if_cheap(project_dir, upload_entity_image(project_dir, entity_id, path))
        return views.entity_cards(project, project_dir)

    def _remake_scene_images_if_cheap(self, project_dir: Path, project: Project) -> Project:
        """The animatic draws a scene image in milliseconds: remake the ones a reference change cleared at once."""
        from studio.project.staleness import scenes_needing_images
        from studio.references.stage import make_references

        if self.preset.models.backend != "animatic" or not scenes_needing_images(project, project_dir):
            return project
        return make_references(project_dir, self.preset, scenes_only=True)

    @inline_errors(outputs=1)
    def remake_scene_images(self, project_id: str, session: SessionState, request: gr.Request, progress=gr.Progress()):
        """Make the scene images a reference change made outdated (their scenes' chunks become stale)."""
        from studio.project.staleness import scenes_needing_images
        from studio.references.stage import make_references

        project_dir, project = self._open_to_change(project_id, request, session)
        scene_images.remove_unreadable_scene_images(project, project_dir)  # then remade like missing ones
        outdated = scenes_needing_images(project, project_dir)
        if not outdated:
            return "Every scene image is up to date."
        make_references(project_dir, self.preset, scenes_only=True, progress=progress_adapter(progress))
        return f"Remade the scene images of {', '.join(outdated)}; generate those scenes again."

    # ------------------------------------------------------------------ 4. refine

    @inline_errors(outputs=4)
    def refine(self, project_id: str, scene_id: str, mode: str, strength: Any, seed: Any, session: SessionState,
               request: gr.Request, progress=gr.Progress()):
        """Refine one scene's draft; returns (before, after, X-T slice, message)."""
        from studio.refine.stage import refine_scene

        # The form's values first: a bad one opens nothing.
        if mode and mode not in REFINE_MODES:
            raise ValidationError(f"mode {mode!r} must be one of {', '.join(REFINE_MODES)}")
        refused(strength)
        try:
            strength_value = None if strength in (None, "") else float(strength)
        except (TypeError, ValueError):
            raise ValidationError(f"strength must be a number in (0, 1], got {strength!r}") from None
        if strength_value is not None and not 0.0 < strength_value <= 1.0:
            raise ValidationError(f"strength must be in (0, 1], got {strength_value}")
        seed_value = parse_seed(seed)
        project_dir, project = self._open_to_change(project_id, request, session)
        scene = project.script.scene(self._scene_id(project, scene_id))
        stop = session.stop if session is not None else None
        if stop is not None:
            stop.clear()
        if self.cluster is not None:
            refine_scene = self.cluster.refine_scene
        result = refine_scene(project_dir, self.preset, scene.id, mode=mode or None, seed=seed_value,
                              strength=strength_value, stop=stop, progress=progress_adapter(progress))
        project = load_project(project_dir)
        before = views.draft_video(project_dir, project.script.scene(scene.id))
        message = (f"{scene.id}: {result.num_frames} frames at {result.width}×{result.height} ({result.mode}, "
                   f"{result.seconds:.1f} s). Seam score {result.seam_score_draft:.3f} → {result.seam_score_refined:.3f} "
                   "(lower is smoother).")
        return before, str(result.path), str(result.xt_slice_path) if result.xt_slice_path else None, message

    @user_errors
    def show_refine(self, project_id: str, scene_id: str, request: gr.Request):
        """Another scene picked in Refine: its draft, refined video and X-T slice, and no other scene's message."""
        if not project_id:
            return None, None, None, ""
        project_dir, project = self._open(project_id, request)
        if not project.script.scenes:
            return None, None, None, ""
        scene = project.script.scene(self._scene_id(project, scene_id))
        return (*views.refine_views(project_dir, scene), "")

    # ------------------------------------------------------------------ 5. export

    @inline_errors(outputs=5, message_at=3)
    def export(self, project_id: str, with_metrics: bool, request: gr.Request, session: SessionState | None = None,
               timeline_format: str | None = None, progress=gr.Progress()):
        """Assemble the final video, the editor's timeline and the archive (which holds the timeline);
        returns (video, scene files, archive, message, plots). The message names every scene left out,
        every stale part and every rejected chunk in the cut."""
        from studio.export.stage import export_project
        from studio.export.timeline import project_timeline, remove_other_timelines
        from studio.ui.qa_panel import timeline_suffix

        project_dir, project = self._open_to_change(project_id, request, session)
        timeline = project_timeline(project_dir, timeline_suffix(timeline_format))
        exports = self.workspace.session_dir(_session_hash(request)) / "exports"
        exports.mkdir(parents=True, exist_ok=True)
        progress(0.1, desc="assembling the final video")
        remove_other_timelines(project_dir, keep=timeline)
        try:
            result = export_project(project_dir, self.preset, archive=exports / f"{project.id}.zip", timeline=timeline)
        except StudioError as error:  # nothing to export (every scene stale or unmade): said in the tab, with why
            from studio.project.staleness import stale_findings

            why = stale_findings(load_project(project_dir), project_dir)
            raise ValidationError("; ".join([one_line(error), *why])) from None
        plots = []
        metrics_dir = self.metrics_dir(project_id, request)
        (metrics_dir / metrics_view.REPORT_FILE).unlink(missing_ok=True)  # never the table of an older export
        if with_metrics:
            from studio.metrics import evaluate_video

            progress(0.6, desc="measuring the video")
            report = evaluate_video(result.video, prompt=project.script.prompt, preset=self.preset,
                                    plots_dir=metrics_dir)
            metrics_view.save_report(report, metrics_dir)  # the Export tab's table and plot are drawn from it
            measured = metrics_view.metrics_line(report)
            plots = [value for value in _walk_values(report) if isinstance(value, str)
                     and value.lower().endswith((".png", ".jpg")) and Path(value).is_file()]
        files = [str(p) for p in (result.scene_files or [])]
        message = f"{result.num_frames} frames, {result.seconds:.1f} s."
        if result.warnings:
            message = "⚠ Exported, but:\n" + "\n".join(f"- {line}." for line in result.warnings) + f"\n\n{message}"
        if with_metrics:
            message += f" Measured: {measured} (the table and the plot below)."
        return str(result.video), files, str(result.archive) if result.archive else None, message, plots

    def metrics_dir(self, project_id: str, request: gr.Request) -> Path:
        """Where the last export of `project_id` in this session keeps its metrics (report.json, plots)."""
        return self.workspace.session_dir(_session_hash(request)) / "exports" / f"{(project_id or '').strip()}-metrics"

    # ------------------------------------------------------------------ refresh (after plan / open / save)

    def summary(self, project_id: str, request: gr.Request):
        """The line under the project bar (never an error: it only follows other events)."""
        try:
            project_dir, project = self._open(project_id, request)
        except StudioError:
            return gr.skip()
        return self._summary(project_dir, project)

    @user_errors
    def refresh(self, project_id: str, request: gr.Request):
        """Everything the tabs show for the current project."""
        from studio.plan.tables import script_to_rows

        project_dir, project = self._open(project_id, request)
        scene_rows, entity_rows = script_to_rows(project.script)
        choices = views.scene_choices(project)
        first = choices[0][1] if choices else None
        entity_choices = [("All entities", "")] + [(e.name or e.id, e.id) for e in project.script.entities]
        return (self._summary(project_dir, project), project.script.prompt, scene_rows, entity_rows,
                views.entity_cards(project, project_dir), views.scene_gallery(project, project_dir),
                gr.update(choices=entity_choices, value=""),
                gr.update(choices=choices, value=first), gr.update(choices=choices, value=first),
                views.final_video(project_dir))
