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
from studio.ui.inputs import inline_errors, one_line, parse_count
from studio.ui.state import SessionState


def take_caption(take) -> str:
    """How a take is labelled in the gallery: 'take 2 · active · seed 999' (what matters first: a narrow
    thumbnail cuts the end)."""
    return f"take {take.take}" + (" · active" if take.active else "") + f" · seed {take.seed}"


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
        return self._takes(project_dir, scene, index)[:2]

    def _takes(self, project_dir: Path, scene: Scene, index: int) -> tuple[list, list[int], str | None, int]:
        """(gallery items, their take numbers, the active take's preview, the active take's number)."""
        from studio.generate.takes import list_takes

        takes = [take for take in list_takes(project_dir, scene.id, index) if take.preview and take.preview.is_file()]
        active = next((take for take in takes if take.active), None)
        return ([(str(take.preview), take_caption(take)) for take in takes], [take.take for take in takes],
                str(active.preview) if active else None, active.take if active else 1)

    def _views(self, project_dir: Path, scene_id: str):
        return self.handlers._scene_view(project_dir, load_project(project_dir), scene_id)

    @inline_errors(outputs=4, message_at=3)
    def show_takes(self, project_id: str, scene_id: str, chunk_index: Any, request: gr.Request):
        """The selected chunk: its takes, their numbers, its active version in the player and the Take box
        (all empty before the chunk is made, so no other chunk's video stays on show)."""
        if not project_id:
            return [], [], None, gr.skip()
        project_dir, scene = self._scene(project_id, scene_id, request)
        index = parse_count(chunk_index, "chunk", 0, MAX_CHUNKS_PER_SCENE - 1)
        if index is None or index >= len(scene.chunks):
            return [], [], None, gr.skip()
        gallery, numbers, active, _ = self._takes(project_dir, scene, index)
        return gallery, numbers, active, gr.skip()

    @inline_errors(outputs=6)
    def use_take(self, project_id: str, scene_id: str, chunk_index: Any, take: Any, session: SessionState,
                 request: gr.Request):
        """Make take `take` of the chunk active; returns the gallery, its take numbers, the timeline views and a message."""
        from studio.generate.takes import use_take

        number = parse_count(take, "take", 1, 10_000)  # the form's values first: a bad one opens nothing
        if number is None:
            raise ValidationError("pick a take in the gallery first")
        project_dir, scene = self._scene(project_id, scene_id, request, session, change=True)
        index = _chunk_index(scene, chunk_index)
        switch = use_take(project_dir, self.handlers.preset, scene.id, index, number)
        timeline, rows, draft = self._views(project_dir, scene.id)
        gallery, numbers = self._gallery(project_dir, scene, index)
        ready = f"; later chunks ready again: {', '.join(map(str, switch.ready))}" if switch.ready else ""
        stale = f"; stale: {', '.join(map(str, switch.stale))} (press Continue to remake them)" if switch.stale else ""
        return (gallery, numbers, timeline, rows, draft,
                f"{scene.id}: chunk {index} now shows take {switch.take}{ready}{stale}.")

    def use_selected_take(self, project_id: str, scene_id: str, chunk_index: Any, numbers: list[int],
                          session: SessionState, evt: gr.SelectData, request: gr.Request):
        """A click on a gallery item: that take becomes active (a forged position is one line, nothing changes)."""
        from studio.ui.generate_handlers import selected_index

        try:
            position = selected_index(evt, len(numbers or []))
        except ValidationError as error:
            return (gr.skip(),) * 5 + (f"⚠ that take is not in the gallery ({one_line(error)})",)
        return self.use_take(project_id, scene_id, chunk_index, numbers[position], session, request)

    @inline_errors(outputs=3)
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
        ui.takes_gallery = gr.Gallery(label="Takes of the selected chunk (click one to use it)", columns=4, height="auto",
                                      allow_preview=False, elem_id="takes-gallery", interactive=False)
        with gr.Column(scale=1, min_width=160):
            ui.take_number = gr.Number(label="Take", value=1, precision=0, minimum=1, maximum=10_000,
                                       elem_id="take-number")
            ui.use_take_btn = gr.Button("Use this take", size="sm", elem_id="use-take")
            with gr.Row():
                ui.approve_btn = gr.Button("Approve chunk", size="sm", variant="primary", elem_id="approve-chunk")
                ui.reject_btn = gr.Button("Reject chunk", size="sm", elem_id="reject-chunk")
    scene_and_chunk = [ui.project_id, ui.gen_scene, ui.chunk_index]
    switched = [ui.takes_gallery, ui.take_numbers, ui.timeline, ui.timeline_df, ui.draft_video, ui.chunk_msg]
    # Each of these changes the project: sync.wire redraws every tab after it (ui.take_events).
    ui.take_events = [
        ui.use_take_btn.click(takes.use_take, inputs=[*scene_and_chunk, ui.take_number, ui.session], outputs=switched,
                              api_name="use_take"),
        ui.takes_gallery.select(takes.use_selected_take, inputs=[*scene_and_chunk, ui.take_numbers, ui.session],
                                outputs=switched, api_visibility="private"),
    ]
    for button, handler, name in ((ui.approve_btn, takes.approve, "approve_chunk"), (ui.reject_btn, takes.reject, "reject_chunk")):
        ui.take_events.append(button.click(handler, inputs=[*scene_and_chunk, ui.session],
                                           outputs=[ui.timeline, ui.timeline_df, ui.chunk_msg], api_name=name))
    # The gallery follows the selected chunk, and a regeneration (a new take).
    refresh = dict(fn=takes.show_takes, inputs=scene_and_chunk,
                   outputs=[ui.takes_gallery, ui.take_numbers, ui.chunk_video, ui.chunk_msg], api_visibility="private")
    ui.chunk_index.change(**refresh)
    for event in (ui.regen_event, *ui.take_events[:2]):  # the player shows the chunk's active version
        event.then(**refresh)
