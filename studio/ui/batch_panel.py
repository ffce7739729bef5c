"""The Generate tab's list of regenerations: chunks picked across scenes, a seed or prompt each, one job.

The list is an editable table (scene, chunk, seed, prompt); "Add selected chunk" copies the regenerate
form's chunk into it. "Regenerate the list" queues one job over studio.generate.batch.regenerate_chunks
(the CLI's `regenerate --chunk SCENE:K ...`): every row is checked before anything is made, the chunks
are made in job order, each finished one is reported as it lands, and Stop keeps the finished ones.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from typing import Any

import gradio as gr

from studio.errors import StudioError, ValidationError
from studio.project.model import MAX_CHUNKS_PER_SCENE, load_project
from studio.ui.inputs import _rows, inline_errors, one_line, parse_count, parse_seed, progress_adapter
from studio.ui.state import SessionState

BATCH_COLUMNS = ["scene", "chunk", "seed", "prompt"]
MAX_BATCH_ROWS = 64  # one job; a longer list is several jobs, so other sessions get their turn


def _text(cell: Any) -> str:
    if cell is None or (isinstance(cell, float) and cell != cell):  # NaN: an empty number cell
        return ""
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    return str(cell).strip()


def batch_requests(rows: Any, keep_later: bool = False) -> list:
    """The table's rows as regenerate requests; a bad cell is one line naming its row and column."""
    from studio.generate.batch import RegenerateRequest

    requests = []
    table = _rows(rows)
    if len(table) > MAX_BATCH_ROWS:
        raise ValidationError(f"the list has {len(table)} rows; one job takes at most {MAX_BATCH_ROWS}: split it")
    for number, row in enumerate(table, start=1):
        scene, chunk, seed, prompt = ([_text(cell) for cell in row] + [""] * 4)[:4]
        if not (scene or chunk or seed or prompt):
            continue  # an empty row of the table
        where = f"list row {number}"
        if not scene:
            raise ValidationError(f"{where}: the scene is empty; give a scene id (Add selected chunk fills it in)")
        index = parse_count(chunk, f"{where}, chunk,", 0, MAX_CHUNKS_PER_SCENE - 1)
        if index is None:
            raise ValidationError(f"{where}: the chunk is empty; give the chunk's number")
        requests.append(RegenerateRequest(scene, index, parse_seed(seed, f"{where}, seed,"), prompt or None,
                                          bool(keep_later)))
    if not requests:
        raise ValidationError("the list is empty: click a chunk in the timeline, then press Add selected chunk")
    return requests


def _done_line(event) -> str:
    return f"{event.scene_id}:{event.index} (take {event.take}, seed {event.seed})"


class BatchHandlers:
    """Bound to the studio's Handlers (preset, workspace, owner checks, the cluster)."""

    def __init__(self, handlers):
        self.handlers = handlers

    def add_selected(self, rows: Any, scene_id: str, chunk_index: Any, seed: Any, prompt: str):
        """Append the regenerate form's chunk (its seed and prompt) to the list; (rows, message)."""
        table = [row for row in _rows(rows) if any(_text(cell) for cell in row)]
        try:
            index = parse_count(chunk_index, "chunk", 0, MAX_CHUNKS_PER_SCENE - 1)
            seed_value = parse_seed(seed, "seed")
        except ValidationError as error:
            return gr.skip(), f"⚠ {one_line(error)}"
        if not scene_id or index is None:
            return gr.skip(), "⚠ pick a scene and click a chunk in the timeline first"
        if any(_text(row[0]) == scene_id and _text(row[1]) == str(index) for row in table if len(row) > 1):
            return gr.skip(), f"⚠ {scene_id}:{index} is in the list already; edit its row"
        if len(table) >= MAX_BATCH_ROWS:
            return gr.skip(), f"⚠ one job takes at most {MAX_BATCH_ROWS} chunks"
        table.append([scene_id, str(index), "" if seed_value is None else str(seed_value), (prompt or "").strip()])
        return table, f"{len(table)} in the list; press Regenerate the list when it is complete."

    @inline_errors(outputs=4, message_at=0)
    def regenerate_list(self, project_id: str, rows: Any, keep_later: bool, session: SessionState,
                        request: gr.Request, progress=gr.Progress()):
        """One job: every chunk of the list made again. Yields (message, timeline, rows, draft) after each
        chunk; a stop keeps the finished ones and names the rest."""
        from studio.generate.batch import check_requests, job_order, regenerate_chunks
        from studio.generate.stage import regenerate_chunk

        h = self.handlers
        project_dir, project = h._open_to_change(project_id, request, session)
        requests = job_order(batch_requests(rows, keep_later))
        regenerate = h.cluster.regenerate_chunk if h.cluster is not None else regenerate_chunk
        try:  # every row checked before the job starts: a bad one is this tab's line, nothing is made
            check_requests(project, project_dir, h.preset, requests, regenerate)
        except StudioError as error:
            raise ValidationError(one_line(error)) from None
        stop = session.stop if session is not None else None
        if stop is not None:
            stop.clear()
        report = progress_adapter(progress)
        report(0.0, f"0 of {len(requests)}")
        finished: queue.Queue = queue.Queue()
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["result"] = regenerate_chunks(project_dir, h.preset, requests, stop=stop, regenerate=regenerate,
                                                      on_event=lambda i, n, event: finished.put((i, n, event)))
            except BaseException as error:  # noqa: BLE001 - handed to the handler, which reports it
                outcome["error"] = error
            finally:
                finished.put(None)

        # In a copy of this request's context: on ZeroGPU the GPU slices are granted to the request's user.
        worker = threading.Thread(target=contextvars.copy_context().run, args=(run,), name="regenerate-list", daemon=True)
        worker.start()
        yield f"Regenerating {len(requests)} chunks: {requests[0].scene_id}:{requests[0].chunk_index} first.", \
            gr.skip(), gr.skip(), gr.skip()
        while (item := finished.get()) is not None:
            position, total, event = item
            report((position + 1) / total, f"{position + 1} of {total}: {event.scene_id}:{event.index}")
            timeline, table, draft = h._scene_view(project_dir, load_project(project_dir), event.scene_id)
            yield (f"{position + 1} of {total} done: {_done_line(event)}.", timeline, table, draft)
        worker.join()
        if "error" in outcome:
            raise outcome["error"]
        result = outcome["result"]
        done = ", ".join(_done_line(event) for event in result.done) or "none"
        if result.stopped:
            rest = ", ".join(f"{r.scene_id}:{r.chunk_index}" for r in result.remaining)
            yield (f"Stopped: {len(result.done)} of {len(requests)} remade and kept ({done}); not made: {rest}.",
                   gr.skip(), gr.skip(), gr.skip())
            return
        stale = sorted({f"{e.scene_id}:{k}" for e in result.done for k in e.stale})
        stale_line = f" Stale now: {', '.join(stale)} (press Continue)." if stale else ""
        yield f"Done: {len(result.done)} chunks remade: {done}.{stale_line}", gr.skip(), gr.skip(), gr.skip()


def build(ui) -> None:
    """The list of regenerations, under the takes; its job is one of the Generate tab's events that change the project."""
    batch = BatchHandlers(ui.handlers)
    with gr.Accordion("Regenerate several chunks in one job", open=False, elem_id="batch-panel"):
        gr.Markdown("Click a chunk in the timeline (any scene), set its seed or prompt in the form above, and press "
                    "**Add selected chunk**; or type rows. An empty seed or prompt keeps the chunk's own.")
        ui.batch_table = gr.Dataframe(headers=BATCH_COLUMNS, column_count=len(BATCH_COLUMNS), datatype="str",
                                      type="array", interactive=True, wrap=True, label="Chunks to regenerate",
                                      column_widths=["18%", "10%", "22%", "50%"], elem_id="batch-table", value=[],
                                      max_height=260)
        with gr.Row():
            ui.batch_add_btn = gr.Button("Add selected chunk", size="sm", elem_id="batch-add")
            ui.batch_clear_btn = gr.Button("Clear the list", size="sm")
            ui.batch_keep_later = gr.Checkbox(label="Keep later chunks (heal the seams)", value=False)
            ui.batch_btn = gr.Button("Regenerate the list", variant="primary", elem_id="batch-btn")
            ui.batch_stop_btn = gr.Button("Stop", variant="stop", size="sm", elem_id="batch-stop")
        ui.batch_msg = gr.Markdown(elem_classes=["inline-message"], elem_id="batch-msg")
    ui.batch_add_btn.click(batch.add_selected,
                           inputs=[ui.batch_table, ui.gen_scene, ui.chunk_index, ui.chunk_seed, ui.chunk_prompt],
                           outputs=[ui.batch_table, ui.batch_msg], api_visibility="private")
    ui.batch_clear_btn.click(lambda: ([], ""), outputs=[ui.batch_table, ui.batch_msg], api_visibility="private")
    ui.batch_event = ui.batch_btn.click(
        batch.regenerate_list, inputs=[ui.project_id, ui.batch_table, ui.batch_keep_later, ui.session],
        outputs=[ui.batch_msg, ui.timeline, ui.timeline_df, ui.draft_video], api_name="regenerate_chunks", **ui.gpu)
    # Only the flag (no `cancels`): the job ends between steps and reports what it kept.
    ui.batch_stop_btn.click(ui.handlers.stop, inputs=[ui.session], outputs=[ui.batch_msg], api_visibility="private",
                            queue=False)
