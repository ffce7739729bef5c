"""The Generate tab's chunk workflow: the selected chunk's takes (one click makes one active), approve or reject it.

A take switch runs no model (studio.generate.takes.use_take): the chunk's files become the take's,
the draft is rewritten, and the timeline shows which later chunks are ready again. Every handler
returns what the tab shows from the project on disk, so the view is never older than the project.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from studio.errors import ValidationError
from studio.project.model import MAX_CHUNKS_PER_SCENE, Scene, load_project
from studio.ui.inputs import parse_count, user_errors
from studio.ui.state import SessionState


def take_caption(take) -> str:
    """How a take is labelled in the gallery: 'take 2 · seed 999 · active'."""
    return f"take {take.take} · seed {take.seed}" + (" · active" if take.active else "")


def _chunk_index(scene: Scene, chunk_index: Any) -> int:
    index = parse_count(chunk_index, "chunk", 0, MAX_CHUNKS_PER_SCENE - 1)
    if index is None:
        raise ValidationError("select a chunk in the timeline first")
    if index >= len(scene.chunks):
        raise ValidationError(f"chunk {index} of {scene.id} has not been made yet: press Generate first")
    return index


class TakeHandlers:
    """The takes and approval handlers; they share the studio's Handlers (workspace, owners, views)."""

    def __init__(self, handlers):
        self.handlers = handlers

    def _scene(self, project_id: str, scene_id: str, request, session=None, *, change: bool = False):
        h = self.handlers
        open_project = h._open_to_change if change else h._open
        project_dir, project = open_project(project_id, request, session)
        return project_dir, project.script.scene(h._scene_id(project, scene_id))

    def _gallery(self, project_dir: Path, scene: Scene, index: int) -> tuple[list, list[int]]:
        from studio.generate.takes import list_takes

        takes = [take for take in list_takes(project_dir, scene.id, index) if take.preview and take.preview.is_file()]
        return [(str(take.preview), take_caption(take)) for take in takes], [take.take for take in takes]

    def _views(self, project_dir: Path, scene_id: str):
        return self.handlers._scene_view(project_dir, load_project(project_dir), scene_id)

    @user_errors
    def show_takes(self, project_id: str, scene_id: str, chunk_index: Any, request: gr.Request):
        """The selected chunk's takes (an empty gallery before any chunk is made)."""
        if not project_id:
            return [], []
        project_dir, scene = self._scene(project_id, scene_id, request)
        index = parse_count(chunk_index, "chunk", 0, MAX_CHUNKS_PER_SCENE - 1)
        if index is None or index >= len(scene.chunks):
            return [], []
        return self._gallery(project_dir, scene, index)

    @user_errors
    def use_take(self, project_id: str, scene_id: str, chunk_index: Any, take: Any, session: SessionState,
                 request: gr.Request):
        """Make take `take` of the chunk active; returns the gallery, its take numbers, the timeline views and a message."""
        from studio.generate.takes import use_take

        project_dir, scene = self._scene(project_id, scene_id, request, session, change=True)
        index = _chunk_index(scene, chunk_index)
        number = parse_count(take, "take", 1, 10_000)
        if number is None:
            raise ValidationError("pick a take in the gallery first")
        switch = use_take(project_dir, self.handlers.preset, scene.id, index, number)
        timeline, rows, draft = self._views(project_dir, scene.id)
        gallery, numbers = self._gallery(project_dir, scene, index)
        ready = f"; later chunks ready again: {', '.join(map(str, switch.ready))}" if switch.ready else ""
        stale = f"; stale: {', '.join(map(str, switch.stale))} (press Continue to remake them)" if switch.stale else ""
        return (gallery, numbers, timeline, rows, draft,
                f"{scene.id}: chunk {index} now shows take {switch.take}{ready}{stale}.")

    def use_selected_take(self, project_id: str, scene_id: str, chunk_index: Any, numbers: list[int],
                          session: SessionState, evt: gr.SelectData, request: gr.Request):
        """A click on a gallery item: that take becomes active."""
        position = evt.index if isinstance(evt.index, int) else evt.index[0]
        take = numbers[position] if numbers and 0 <= position < len(numbers) else None
        return self.use_take(project_id, scene_id, chunk_index, take, session, request)

    @user_errors
    def set_approval(self, project_id: str, scene_id: str, chunk_index: Any, approval: str, session: SessionState,
                     request: gr.Request):
        """Approve or reject the selected chunk; returns the timeline views and a message."""
        from studio.project.approval import set_approval

        project_dir, scene = self._scene(project_id, scene_id, request, session, change=True)
        index = _chunk_index(scene, chunk_index)
        set_approval(project_dir, scene.id, index, approval)
        timeline, rows, _ = self._views(project_dir, scene.id)
        return timeline, rows, f"{scene.id}: chunk {index} {approval}."

    def approve(self, project_id: str, scene_id: str, chunk_index: Any, session: SessionState, request: gr.Request):
        return self.set_approval(project_id, scene_id, chunk_index, "approved", session, request)

    def reject(self, project_id: str, scene_id: str, chunk_index: Any, session: SessionState, request: gr.Request):
        return self.set_approval(project_id, scene_id, chunk_index, "rejected", session, request)


def build(ui) -> None:
    """The takes gallery and the approval buttons, below the regenerate form; wired to the timeline's selection."""
    takes = TakeHandlers(ui.handlers)
    ui.take_numbers = gr.State([])
    with gr.Row(equal_height=False):
        ui.takes_gallery = gr.Gallery(label="Takes of the selected chunk (click one to use it)", columns=4, height=180,
                                      allow_preview=False, elem_id="takes-gallery", interactive=False)
        with gr.Column(scale=1, min_width=160):
            ui.take_number = gr.Number(label="Take", value=None, precision=0, minimum=1, elem_id="take-number")
            ui.use_take_btn = gr.Button("Use this take", size="sm", elem_id="use-take")
            with gr.Row():
                ui.approve_btn = gr.Button("Approve chunk", size="sm", variant="primary", elem_id="approve-chunk")
                ui.reject_btn = gr.Button("Reject chunk", size="sm", elem_id="reject-chunk")
    scene_and_chunk = [ui.project_id, ui.gen_scene, ui.chunk_index]
    switched = [ui.takes_gallery, ui.take_numbers, ui.timeline, ui.timeline_df, ui.draft_video, ui.gen_msg]
    # Each of these changes the project: sync.wire redraws every tab after it (ui.take_events).
    ui.take_events = [
        ui.use_take_btn.click(takes.use_take, inputs=[*scene_and_chunk, ui.take_number, ui.session], outputs=switched,
                              api_name="use_take"),
        ui.takes_gallery.select(takes.use_selected_take, inputs=[*scene_and_chunk, ui.take_numbers, ui.session],
                                outputs=switched, api_visibility="private"),
    ]
    for button, handler, name in ((ui.approve_btn, takes.approve, "approve_chunk"), (ui.reject_btn, takes.reject, "reject_chunk")):
        ui.take_events.append(button.click(handler, inputs=[*scene_and_chunk, ui.session],
                                           outputs=[ui.timeline, ui.timeline_df, ui.gen_msg], api_name=name))
    # The gallery follows the selected chunk, and a regeneration (a new take).
    refresh = dict(fn=takes.show_takes, inputs=scene_and_chunk, outputs=[ui.takes_gallery, ui.take_numbers],
                   api_visibility="private")
    ui.chunk_index.change(**refresh)
    ui.regen_event.then(**refresh)
