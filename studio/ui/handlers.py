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
    one_line,
    parse_count,
    parse_seed,
    progress_adapter,
    user_errors,
)
from studio.ui.state import SessionState, Workspace

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
# ZeroGPU budget of each GPU entry point, in seconds (ignored off Spaces).
# generate and regenerate_chunk are absent: the stage asks for the GPU once per chunk
# (studio.generate.gpu_chunk), and a call wrapped around the whole handler would swallow those calls.
GPU_SECONDS = {"plan": 60, "references": 120, "refine": 300, "export": 120}


def _anchor_notes(project: Project, project_dir: Path, scene_ids: list[str]) -> dict[str, str]:
    """Scene id -> which anchor its generation uses, said with every chunk (never a silent fallback)."""
    from studio.project.staleness import anchor_note

    return {scene_id: anchor_note(project, project_dir, project.script.scene(scene_id)) for scene_id in scene_ids}


def _session_hash(request: gr.Request | None) -> str | None:
    return getattr(request, "session_hash", None)


class Handlers:
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

    def _open(self, project_id: str, request: gr.Request | None, session: SessionState | None = None) -> tuple[Path, Project]:
        if session is not None and request is not None:
            session.session_hash = request.session_hash  # lets the state's delete callback find the folder
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
        if session is not None and request is not None:
            session.session_hash = request.session_hash
        project_dir, copied = owners.open_for_session(self.workspace, _session_hash(request), session, project_id)
        project = open_project_folder(project_dir)  # swept of what a killed run left (an old layout moved first)
        if copied:
            return project.id, (f"**{project_id.strip()}** belongs to another session: opened a copy of it, "
                                f"**{project.id}**, in this session (Save it under a name of your own to keep it).")
        return project.id, f"Opened **{project.id}**."

    @user_errors
    def save_project(self, project_id: str, name: str, session: SessionState, request: gr.Request):
        """Keep the project after the session ends, under `name` (default: its id)."""
        if session is not None:
            session.session_hash = request.session_hash
        saved_id, _ = owners.save(self.workspace, _session_hash(request), session, project_id, name)
        return saved_id, f"Saved as **{saved_id}**: reopen it by this id at any time."

    @user_errors
    def import_project(self, archive: Any, request: gr.Request):
        """Import a project archive (.zip) into this session."""
        from studio.export.archive import import_archive

        path = check_upload(archive, (".zip",), "archive")
        session_dir = self.workspace.session_dir(_session_hash(request))
        session_dir.mkdir(parents=True, exist_ok=True)
        project_dir = import_archive(path, session_dir)
        return Path(project_dir).name, f"Imported **{Path(project_dir).name}** into this session."

    # ------------------------------------------------------------------ 1. plan

    @user_errors
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
        if session is not None:
            session.session_hash = request.session_hash
        progress(0.1, desc="writing the script")
        project_id, project_dir = self.workspace.new_project_dir(_session_hash(request))
        project = plan_project(project_dir, prompt.strip(), self.preset, planner=planner or None, num_scenes=scenes)
        scene_rows, entity_rows = script_to_rows(project.script)
        message = f"Planned {len(project.script.scenes)} scenes and {len(project.script.entities)} entities. Edit the tables, then make the references."
        return project.id, scene_rows, entity_rows, message

    @user_errors
    def apply_script(self, project_id: str, prompt: str, scene_rows: Any, entity_rows: Any, request: gr.Request,
                     session: SessionState | None = None):
        """Validate the edited tables and save them; a bad cell is named inline and nothing is lost."""
        from studio.plan.tables import rows_to_script, script_to_rows
        from studio.project.lock import project_lock
        from studio.project.model import save_project

        project_dir, _ = self._open_to_change(project_id, request, session)
        scene_rows, entity_rows = _rows(scene_rows), _rows(entity_rows)
        with project_lock(project_dir):  # the edit is applied to project.json as it is now (a generation may be saving)
            project = load_project(project_dir)
            try:
                script = rows_to_script((prompt or project.script.prompt).strip(), scene_rows, entity_rows,
                                        previous=project.script)
            except ValidationError as error:
                return gr.skip(), gr.skip(), f"⚠ {one_line(error)}"
            project.script = script
            save_project(project, project_dir)
        scene_rows, entity_rows = script_to_rows(script)
        return scene_rows, entity_rows, f"✓ Saved: {len(script.scenes)} scenes, {len(script.entities)} entities."

    def check_script(self, project_id: str, prompt: str, scene_rows: Any, entity_rows: Any, request: gr.Request,
                     session: SessionState | None = None):
        """Check (and save when valid) after a cell edit, without rewriting the tables under the cursor."""
        if not (project_id or "").strip():
            return "Plan a project first; the tables are saved into it."
        return self.apply_script(project_id, prompt, scene_rows, entity_rows, request, session)[2]

    def add_scene(self, scene_rows: Any):
        """Append a scene row with sensible defaults (the user fills it in, then applies)."""
        from studio.plan.tables import script_to_rows
        from studio.project.model import Scene, Script

        rows = _rows(scene_rows)
        if len(rows) >= MAX_SCENES:
            return gr.skip(), f"⚠ a script has at most {MAX_SCENES} scenes"
        number = len(rows) + 1
        scene = Scene(id="new", title=f"Scene {number}", event="describe what happens",
                      n_chunks=self.preset.planning.default_chunks)
        new_rows, _ = script_to_rows(Script(prompt="", scenes=[scene], entities=[]))
        new_rows[0][0] = ""  # Apply gives the new scene a unique id
        return rows + new_rows, f"Added scene {number}: fill in its cells (each edit is saved)."

    def remove_scene(self, scene_rows: Any, row_number: Any):
        """Remove scene row `row_number` (1-based; empty = the last one)."""
        rows = _rows(scene_rows)
        if not rows:
            return gr.skip(), "⚠ there is no scene to remove"
        try:
            index = (parse_count(row_number, "scene number", 0, len(rows)) or len(rows)) - 1
        except ValidationError as error:
            return gr.skip(), f"⚠ {one_line(error)}"
        del rows[index]
        return rows, f"Removed scene row {index + 1}."

    # ------------------------------------------------------------------ 2. cast

    @user_errors
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

    @user_errors
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

    # ------------------------------------------------------------------ 3. shoot

    def _scene_view(self, project_dir: Path, project: Project, scene_id: str):
        scene = project.script.scene(scene_id)
        return views.timeline_html(scene), views.timeline_rows(scene), views.draft_video(project_dir, scene)

    @user_errors
    def generate(self, project_id: str, scene_id: str, num_chunks: Any, session: SessionState, request: gr.Request,
                 progress=gr.Progress()):
        """Make a scene chunk by chunk (or every scene when none is given), streaming each finished chunk.

        Yields (segment for the streaming video, timeline html, timeline rows, draft video, message).
        It resumes at the first chunk that is not ready, so it also continues stale chunks.
        """
        from studio.generate.stage import generate_project

        project_dir, project = self._open_to_change(project_id, request, session)
        # 0 or empty: the script's own count (the page shows 0 for an empty number box).
        count = parse_count(num_chunks, "number of chunks", 0, min(MAX_CHUNKS_PER_SCENE, self.preset.streaming.max_chunks)) or None
        scene_ids = scene_ids_to_make(project, scene_id or None)
        scene_images.check_scene_images(project, project_dir, scene_ids)
        stop = session.stop if session is not None else None
        if stop is not None:
            stop.clear()
        planned = sum(count or project.script.scene(s).n_chunks for s in scene_ids)
        made = 0
        progress(0.0, desc="starting")
        shown = scene_ids[0]
        anchors = _anchor_notes(project, project_dir, scene_ids)
        if self.cluster is not None:
            generate_project = self.cluster.generate_project
        changed = None
        try:
            for event in generate_project(project_dir, self.preset, scene_id=scene_id or None, num_chunks=count, stop=stop):
                made, shown = made + 1, event.scene_id
                progress(min(made / max(planned, 1), 1.0), desc=f"{shown}: chunk {event.index} done")
                timeline, rows, _ = self._scene_view(project_dir, load_project(project_dir), shown)
                yield (str(event.preview_path), timeline, rows, gr.skip(),
                       f"{shown}: chunk {event.index} ready ({event.num_frames} frames, {event.seconds:.1f} s; "
                       f"{anchors[shown]})")
        except SceneChangedError as error:  # an edit in the Plan tab changed this scene's chunks: it wins
            changed = error
        project = load_project(project_dir)
        if changed is not None and shown not in [s.id for s in project.script.scenes]:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), f"⚠ {one_line(changed)}"
            return
        timeline, rows, draft = self._scene_view(project_dir, project, shown)
        if changed is not None:
            message = f"⚠ {one_line(changed)}"
        elif stop is not None and stop.is_set():
            kept = "1 chunk; it is kept" if made == 1 else f"{made} chunks; they are kept"
            message = f"Stopped after {kept}. Press Continue to resume."
        elif made == 0:
            message = "Every chunk is already ready. Select a chunk to regenerate it, or raise the number of chunks."
        else:
            message = f"Done: {made} new chunks ({anchors[shown]})."
        yield gr.skip(), timeline, rows, draft, message

    def stop(self, session: SessionState):
        """The Stop button: the running stage stops after its current denoising step."""
        if session is not None:
            session.stop.set()
        return "Stopping after the current step; finished chunks are kept."

    @user_errors
    def regenerate_chunk(self, project_id: str, scene_id: str, chunk_index: Any, seed: Any, prompt: str,
                         session: SessionState, request: gr.Request, keep_later: bool = False,
                         progress=gr.Progress()):
        """Make one chunk again with a new seed and/or prompt (the old version stays a take); later chunks
        become stale, or with `keep_later` stay ready with the seam healed."""
        from studio.generate.stage import regenerate_chunk

        project_dir, project = self._open_to_change(project_id, request, session)
        scene = project.script.scene(self._scene_id(project, scene_id))
        index = parse_count(chunk_index, "chunk", 0, MAX_CHUNKS_PER_SCENE - 1)
        if index is None:
            raise ValidationError("select a chunk in the timeline first")
        if index >= len(scene.chunks):
            raise ValidationError(f"chunk {index} of {scene.id} has not been made yet ({len(scene.chunks)} made); "
                                  "press Generate first")
        scene_images.check_scene_images(project, project_dir, [scene.id])
        stop = session.stop if session is not None else None
        if stop is not None:
            stop.clear()
        progress(0.1, desc=f"{scene.id}: chunk {index}")
        options = {"keep_later": True} if keep_later else {}
        if self.cluster is not None:
            if keep_later:
                raise ValidationError("keeping the later chunks runs on this machine only: untick Keep later chunks")
            regenerate_chunk = self.cluster.regenerate_chunk
        event = regenerate_chunk(project_dir, self.preset, scene.id, index, seed=parse_seed(seed),
                                 prompt=(prompt or "").strip() or None, stop=stop, **options)
        project = load_project(project_dir)
        timeline, rows, draft = self._scene_view(project_dir, project, scene.id)
        stale = f"; chunks {', '.join(map(str, event.stale))} are stale: press Continue" if event.stale else ""
        anchor = _anchor_notes(project, project_dir, [scene.id])[scene.id]
        seam = (f"; the seam with chunk {index + 1} healed: score {event.seam.score_before:.2f} → "
                f"{event.seam.score_after:.2f} (lower is smoother)" if event.seam else "")
        return (str(event.preview_path), timeline, rows, draft,
                f"{scene.id}: chunk {index} remade with seed {event.seed} as take {event.take} ({anchor}){stale}{seam}.")

    @user_errors
    def select_chunk(self, project_id: str, scene_id: str, evt: gr.SelectData, request: gr.Request):
        """A click on a timeline row: that chunk, a fresh seed and its prompt go into the regenerate form."""
        _, project = self._open(project_id, request)
        scene = project.script.scene(self._scene_id(project, scene_id))
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else int(evt.index)
        prompt = scene.chunks[index].prompt if index < len(scene.chunks) else scene.prompt_for_chunk(index)
        return index, random.randint(0, 2**31 - 1), prompt

    @user_errors
    def show_scene(self, project_id: str, scene_id: str, request: gr.Request):
        if not project_id:
            return views.timeline_html(None), [], None
        project_dir, project = self._open(project_id, request)
        if not project.script.scenes:
            return views.timeline_html(None), [], None
        return self._scene_view(project_dir, project, self._scene_id(project, scene_id))

    # ------------------------------------------------------------------ 4. refine

    @user_errors
    def refine(self, project_id: str, scene_id: str, mode: str, strength: Any, seed: Any, session: SessionState,
               request: gr.Request, progress=gr.Progress()):
        """Refine one scene's draft; returns (before, after, X-T slice, message)."""
        from studio.refine.stage import refine_scene

        project_dir, project = self._open_to_change(project_id, request, session)
        scene = project.script.scene(self._scene_id(project, scene_id))
        if mode and mode not in REFINE_MODES:
            raise ValidationError(f"mode {mode!r} must be one of {', '.join(REFINE_MODES)}")
        try:
            strength_value = None if strength in (None, "") else float(strength)
        except (TypeError, ValueError):
            raise ValidationError(f"strength must be a number in (0, 1], got {strength!r}") from None
        if strength_value is not None and not 0.0 < strength_value <= 1.0:
            raise ValidationError(f"strength must be in (0, 1], got {strength_value}")
        stop = session.stop if session is not None else None
        if stop is not None:
            stop.clear()
        if self.cluster is not None:
            refine_scene = self.cluster.refine_scene
        result = refine_scene(project_dir, self.preset, scene.id, mode=mode or None, seed=parse_seed(seed),
                              strength=strength_value, stop=stop, progress=progress_adapter(progress))
        project = load_project(project_dir)
        before = views.draft_video(project_dir, project.script.scene(scene.id))
        message = (f"{scene.id}: {result.num_frames} frames at {result.width}×{result.height} ({result.mode}, "
                   f"{result.seconds:.1f} s). Seam score {result.seam_score_draft:.3f} → {result.seam_score_refined:.3f} "
                   "(lower is smoother).")
        return before, str(result.path), str(result.xt_slice_path) if result.xt_slice_path else None, message

    @user_errors
    def show_refine(self, project_id: str, scene_id: str, request: gr.Request):
        if not project_id:
            return None, None
        project_dir, project = self._open(project_id, request)
        if not project.script.scenes:
            return None, None
        scene = project.script.scene(self._scene_id(project, scene_id))
        return views.draft_video(project_dir, scene), views.refined_video(project_dir, scene)

    # ------------------------------------------------------------------ 5. export

    @user_errors
    def export(self, project_id: str, with_metrics: bool, request: gr.Request, session: SessionState | None = None,
               progress=gr.Progress()):
        """Assemble the final video and the archive; returns (video, scene files, archive, metrics, plots)."""
        from studio.export.stage import export_project

        project_dir, project = self._open_to_change(project_id, request, session)
        exports = self.workspace.session_dir(_session_hash(request)) / "exports"
        exports.mkdir(parents=True, exist_ok=True)
        progress(0.1, desc="assembling the final video")
        result = export_project(project_dir, self.preset, archive=exports / f"{project.id}.zip")
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
            message = "⚠ Exported although stale:\n" + "\n".join(f"- {line}" for line in result.warnings) + f"\n\n{message}"
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
