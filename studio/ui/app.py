"""build_app: the studio's page — a header, the project bar and five tabs over the five stages."""

import logging
import os
from pathlib import Path
from types import SimpleNamespace

import gradio as gr

from studio.config import Preset
from studio.errors import StudioError
from studio.media.images import MAX_UPLOAD_BYTES
from studio.ui import export_tab, generate_tab, plan_tab, references_tab, refine_tab, served_cache, sync, visitors
from studio.ui.handlers import Handlers
from studio.ui.inputs import quiet_number_checks
from studio.ui.state import SessionState, Workspace
from studio.ui.theme import ASSETS_DIR, load_css, load_examples, studio_theme

logger = logging.getLogger(__name__)

GPU_CONCURRENCY_ID = "gpu"  # one lock for every event that runs a model
MAX_UPLOAD_SIZE = MAX_UPLOAD_BYTES  # gradio takes bytes too: the one limit of studio.media.images
DEFAULT_QUEUE_SIZE = 64  # waiting jobs; more are refused at once instead of waiting for hours


def header_html(preset: Preset, reason: str = "") -> str:
    import html

    reason_text = f" <span class='preset-reason'>({html.escape(reason)})</span>" if reason else ""
    return (
        "<div class='studio-header'><div class='studio-title'><span class='logo'>◼▶</span> StreamStudio"
        "<span class='studio-sub'>one prompt → a long, multi-scene video</span></div>"
        f"<div class='preset-badge preset-{html.escape(preset.name)}'>preset <b>{html.escape(preset.name)}</b>{reason_text}"
        f"<div class='preset-desc'>{html.escape(preset.description)}</div></div></div>"
    )


def build_app(preset: Preset, *, projects_root: Path | str | None = None, preset_reason: str = "") -> gr.Blocks:
    """The Gradio Blocks of the studio for one preset; launch it with `launch_options(demo)`."""
    from studio.offline import go_offline

    go_offline(preset)  # the planners that need the network are not offered then (plan_tab.py)
    workspace = Workspace(projects_root)
    removed = workspace.sweep_idle()
    if removed:
        logger.info("removed %d idle visitor folders", removed)
    handlers = Handlers(preset, workspace)

    def forget_session(state: SessionState) -> None:
        # gr.State's delete callback: the session ended (closed or reloaded tab, or expired state). Only an API
        # session's folder goes with it: a browser's stays for its next page (Workspace.cleanup_session).
        if state is not None and state.session_hash:
            state.stop.set()
            workspace.cleanup_session(state.session_hash)

    # Gradio copies every file it serves into its cache: those copies expire too (see served_cache.py).
    with gr.Blocks(title="StreamStudio", analytics_enabled=False, delete_cache=served_cache.DELETE_CACHE) as demo:
        workspace.before_remove = served_cache.forgetter(demo)
        ui = SimpleNamespace(handlers=handlers, preset=preset, examples=load_examples(), demo_load=demo.load)
        ui.session = gr.State(SessionState(), delete_callback=forget_session)
        visitors.build(ui, workspace)
        # Every event that runs a model shares one lock: one GPU, one job at a time; on a cluster, one job
        # per worker at a time (each session's jobs still in its own project folder).
        ui.gpu = {"concurrency_id": GPU_CONCURRENCY_ID, "concurrency_limit": handlers.gpu_jobs_at_once}
        gr.HTML(header_html(preset, preset_reason), elem_id="studio-header")
        with gr.Row(equal_height=True, elem_classes=["project-bar"]):
            ui.project_id = gr.Textbox(label="Project id", placeholder="planned projects get an id; type a saved one to open it",
                                       scale=3, elem_id="project-id", max_length=64)
            ui.open_btn = gr.Button("Open", scale=1, size="md")
            ui.save_name = gr.Textbox(label="Save as", placeholder="name (default: the id)", scale=2, max_length=64)
            ui.save_btn = gr.Button("Save", scale=1, variant="secondary")
            ui.import_btn = gr.UploadButton("Import .zip", file_types=[".zip"], scale=1)
            ui.login = visitors.login_button()
        ui.summary = gr.Markdown("No project yet: write a prompt below and press **Plan**.", elem_id="project-summary")
        ui.summary_refresh = dict(fn=handlers.summary, inputs=[ui.project_id], outputs=[ui.summary],
                                  api_visibility="private", show_progress="hidden")
        ui.refresh = {}  # filled once every tab exists (it updates all of them)
        sync.install(ui)
        with gr.Tabs(elem_id="stage-tabs") as ui.tabs:
            with gr.Tab("1 · Plan", id="plan"):
                plan_tab.build(ui)
            with gr.Tab("2 · References", id="references"):
                references_tab.build(ui)
            with gr.Tab("3 · Generate", id="generate"):
                generate_tab.build(ui)
            with gr.Tab("4 · Refine", id="refine"):
                refine_tab.build(ui)
            with gr.Tab("5 · Export", id="export"):
                export_tab.build(ui)
        visitors.wire(ui, workspace)  # first: every later event finds the visitor's own projects
        _wire_project_bar(ui, handlers)
        ui.change_events += [ui.refs_event, ui.remake_event, ui.gen_event, ui.continue_event, ui.regen_event,
                             ui.refine_event, ui.export_event, *ui.take_events, ui.batch_event]
        sync.wire(ui)
        # Stop only sets the flag (no `cancels`): the running stage ends between steps and reports what
        # it kept; cancelling the event would kill that report and leave error badges on every output.
        ui.stop_btn.click(handlers.stop, inputs=[ui.session], outputs=[ui.gen_msg], api_visibility="private", queue=False)
        ui.refine_stop_btn.click(handlers.stop, inputs=[ui.session], outputs=[ui.refine_msg], api_visibility="private",
                                 queue=False)

        def end_session(request: gr.Request) -> None:
            workspace.cleanup_session(getattr(request, "session_hash", None))

        demo.unload(end_session)
    quiet_number_checks(demo.blocks)  # an out-of-range number: one line, not a traceback per request
    demo.studio = SimpleNamespace(ui=ui, workspace=workspace, handlers=handlers, preset=preset)
    return demo


def _wire_project_bar(ui, handlers: Handlers) -> None:
    ui.refresh.update(fn=handlers.refresh, inputs=[ui.project_id], api_visibility="private",
                      outputs=[ui.summary, ui.prompt, ui.scenes_df, ui.entities_df, ui.cards, ui.scene_gallery,
                               ui.ref_entity, ui.gen_scene, ui.refine_scene, ui.final_video])
    # Every tab follows these (studio/ui/sync.py wires the redraw).
    ui.change_events = [
        ui.open_btn.click(handlers.open_project, inputs=[ui.project_id, ui.session], outputs=[ui.project_id, ui.summary],
                          api_name="open"),
        ui.project_id.submit(handlers.open_project, inputs=[ui.project_id, ui.session],
                             outputs=[ui.project_id, ui.summary], api_visibility="private"),
        ui.save_btn.click(handlers.save_project, inputs=[ui.project_id, ui.save_name, ui.session],
                          outputs=[ui.project_id, ui.summary], api_name="save"),
        ui.import_btn.upload(handlers.import_project, inputs=[ui.import_btn], outputs=[ui.project_id, ui.summary],
                             api_visibility="private"),
    ]
    # Another project comes in: the messages and files of the one before leave the page (sync.py).
    ui.project_switch_events = [ui.change_events[i] for i in (0, 1, 3)]


def launch_options(demo: gr.Blocks) -> dict:
    """The launch() arguments that belong to the studio: theme, css, which files may be served, upload size."""
    workspace = demo.studio.workspace
    from studio.ui.media_headers import middleware

    return dict(theme=studio_theme(), css=load_css(), allowed_paths=[str(workspace.root), str(ASSETS_DIR)],
                max_file_size=MAX_UPLOAD_SIZE, footer_links=["api", "gradio"],
                app_kwargs={"middleware": middleware()})  # project media: safe type or a download, and nosniff


def queue_size() -> int:
    """How many jobs may wait in the queue ($STUDIO_QUEUE_SIZE, default 64); one more is refused with "Queue is full"."""
    raw = os.environ.get("STUDIO_QUEUE_SIZE", "").strip()
    try:
        size = int(raw) if raw else DEFAULT_QUEUE_SIZE
    except ValueError:
        raise StudioError(f"STUDIO_QUEUE_SIZE must be a whole number of at least 1, got {raw!r}") from None
    if size < 1:
        raise StudioError(f"STUDIO_QUEUE_SIZE must be a whole number of at least 1, got {raw!r}")
    return size


def queue(demo: gr.Blocks, max_size: int | None = None, jobs_per_session: int | None = None) -> gr.Blocks:
    """The queue: light events run side by side; model events go one at a time through GPU_CONCURRENCY_ID.

    At most `max_size` (default: `queue_size()`) model jobs wait, each waiting user told their place, and
    one session holds at most `jobs_per_session` (default: $STUDIO_JOBS_PER_SESSION) of them, one client
    address at most $STUDIO_JOBS_PER_ADDRESS. Light events
    never count against the model queue (studio/ui/queue_guard.py).
    """
    from studio.ui import queue_guard

    size, per_session = max_size or queue_size(), jobs_per_session or queue_guard.jobs_per_session()
    demo.queue(max_size=None, default_concurrency_limit=8)  # gradio's bound counts light events: the guard's does not
    demo.studio.queue_guard = queue_guard.install(demo, GPU_CONCURRENCY_ID, size, per_session,
                                                  queue_guard.jobs_per_address())
    return demo
