"""The Generate tab's handlers: make a scene chunk by chunk, make one chunk again, pick a chunk.

Mixed into the studio's Handlers (its preset, workspace, owner checks and cluster). A bad value is
one line in the tab's message (studio.ui.inputs.inline_errors); the other outputs keep what they show.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import gradio as gr

from studio.errors import ValidationError
from studio.project.model import MAX_CHUNKS_PER_SCENE, MAX_SEED, Project, load_project, scene_ids_to_make
from studio.project.progress import SceneChangedError
from studio.ui import scene_images, views
from studio.ui.inputs import inline_errors, one_line, parse_count, parse_seed, user_errors
from studio.ui.state import SessionState

MAX_SEED_IN_PAGE = MAX_SEED  # the one seed range (studio.project.model): what a number box holds exactly (a float in the browser): the seeds the page offers


def _anchor_notes(project: Project, project_dir: Path, scene_ids: list[str]) -> dict[str, str]:
    """Scene id -> which anchor its generation uses, said with every chunk (never a silent fallback)."""
    from studio.project.staleness import anchor_note

    return {scene_id: anchor_note(project, project_dir, project.script.scene(scene_id)) for scene_id in scene_ids}


def _ready_prefix(scene) -> int:
    """How many chunks from the start of the scene are ready (generation resumes after them)."""
    count = 0
    for chunk in scene.chunks:
        if chunk.status != "ready":
            break
        count += 1
    return count


def _unmade(project: Project, scene_ids: list[str]) -> int:
    """How many planned chunks of these scenes are not ready yet."""
    return sum(max(0, s.n_chunks - sum(1 for c in s.chunks[:s.n_chunks] if c.status == "ready"))
               for s in (project.script.scene(i) for i in scene_ids))


def selected_index(evt: Any, rows: int | None = None) -> int:
    """The row a select event names: a whole number in range, else one line (a forged event changes nothing)."""
    index = getattr(evt, "index", None)
    index = index[0] if isinstance(index, (list, tuple)) and index else index
    if isinstance(index, bool) or not isinstance(index, int) or index < 0 or (rows is not None and index >= rows):
        raise ValidationError(f"that selection ({str(index)[:40]}) is not a row shown: click a row of the table")
    return index


class GenerateHandlers:
    def _scene_view(self, project_dir: Path, project: Project, scene_id: str):
        scene = project.script.scene(scene_id)
        return views.timeline_html(scene), views.timeline_rows(scene), views.draft_video(project_dir, scene)

    def max_chunks(self) -> int:
        """The most chunks a scene may have with this preset (the Chunks box's maximum)."""
        return min(MAX_CHUNKS_PER_SCENE, self.preset.streaming.max_chunks)

    def _chunk_events(self, project_dir: Path, project: Project, scene_id: str, scene_ids: list[str],
                      limit: int | None, stop):
        """The generation's chunk events. `limit` below a scene's count is a one-off: that scene stops once
        its first `limit` chunks are ready, and the script keeps its count; above it, the scene grows to
        `limit` chunks (the stage records the new count). Without a one-off it is one call for every scene
        (on a cluster, scenes run side by side)."""
        from studio.generate.stage import generate_project

        if self.cluster is not None:
            generate_project = self.cluster.generate_project
        one_off = [s for s in scene_ids if limit is not None and limit < project.script.scene(s).n_chunks]
        if not one_off:
            grows = limit is not None and any(limit > project.script.scene(s).n_chunks for s in scene_ids)
            yield from generate_project(project_dir, self.preset, scene_id=scene_id or None,
                                        num_chunks=limit if grows else None, stop=stop)
            return
        for current in scene_ids:
            if stop is not None and stop.is_set():
                return
            scene = project.script.scene(current)
            if current not in one_off:
                yield from generate_project(project_dir, self.preset, scene_id=current,
                                            num_chunks=limit if limit > scene.n_chunks else None, stop=stop)
                continue
            if _ready_prefix(scene) >= limit:
                continue  # its first `limit` chunks are ready already
            events = generate_project(project_dir, self.preset, scene_id=current, stop=stop)
            try:
                for event in events:
                    yield event
                    if event.index + 1 >= limit:
                        break
            finally:
                getattr(events, "close", lambda: None)()  # leaves the scene's generating lock at once

    @inline_errors(outputs=5)
    def generate(self, project_id: str, scene_id: str, num_chunks: Any, session: SessionState, request: gr.Request,
                 progress=gr.Progress()):
        """Make a scene chunk by chunk (or every scene when none is given), streaming each finished chunk.

        `num_chunks` (0 or empty: the script's count) below a scene's count makes only its first chunks,
        this time; the script is not changed. Above it, the scene grows to that many chunks. Yields (segment
        for the streaming video, timeline html, timeline rows, draft video, message). It resumes at the first
        chunk that is not ready, so it also continues stale chunks.
        """
        limit = parse_count(num_chunks, "Chunks", 0, self.max_chunks()) or None  # the form first: a bad value opens nothing
        project_dir, project = self._open_to_change(project_id, request, session)
        scene_ids = scene_ids_to_make(project, scene_id or None)
        scene_images.check_scene_images(project, project_dir, scene_ids)
        stop = session.stop if session is not None else None
        if stop is not None:
            stop.clear()
        planned = sum(max(0, (limit or s.n_chunks) - _ready_prefix(s)) for s in map(project.script.scene, scene_ids))
        made = 0
        progress(0.0, desc="starting")
        shown = scene_ids[0]
        anchors = _anchor_notes(project, project_dir, scene_ids)
        changed = None
        try:
            for event in self._chunk_events(project_dir, project, scene_id, scene_ids, limit, stop):
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
        left = _unmade(project, scene_ids)
        if changed is not None:
            message = f"⚠ {one_line(changed)}"
        elif stop is not None and stop.is_set():
            kept = "1 chunk; it is kept" if made == 1 else f"{made} chunks; they are kept"
            message = f"Stopped after {kept}. Press Continue to resume."
        elif made == 0 and left and limit:
            message = (f"The first {views.count_of(limit or 0, 'chunk')} are ready already; set Chunks to 0 and press "
                       f"Continue to make the other {left}.")
        elif made == 0:
            message = ("Every chunk is already ready. Select a chunk to regenerate it, or set Chunks above the "
                       "scene's count to add chunks.")
        elif left:
            message = (f"Done: {views.count_of(made, 'new chunk')}, as asked ({anchors[shown]}); "
                       f"{views.count_of(left, 'chunk')} still to make: set Chunks to 0 and press Continue.")
        else:
            message = f"Done: {views.count_of(made, 'new chunk')} ({anchors[shown]})."
        yield gr.skip(), timeline, rows, draft, message

    def stop(self, session: SessionState):
        """The Stop button: the running stage stops after its current denoising step."""
        if session is not None:
            session.stop.set()
        return "Stopping after the current step; finished chunks are kept."

    @inline_errors(outputs=5)
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

    @inline_errors(outputs=4)
    def select_chunk(self, project_id: str, scene_id: str, evt: gr.SelectData, request: gr.Request):
        """A click on a timeline row: that chunk, a fresh seed and its prompt go into the regenerate form."""
        _, project = self._open(project_id, request)
        scene = project.script.scene(self._scene_id(project, scene_id))
        index = selected_index(evt, max(scene.n_chunks, len(scene.chunks)))
        prompt = scene.chunks[index].prompt if index < len(scene.chunks) else scene.prompt_for_chunk(index)
        return index, random.randint(0, MAX_SEED_IN_PAGE), prompt, ""

    @user_errors
    def show_scene(self, project_id: str, scene_id: str, request: gr.Request):
        if not project_id:
            return views.timeline_html(None), [], None
        project_dir, project = self._open(project_id, request)
        if not project.script.scenes:
            return views.timeline_html(None), [], None
        return self._scene_view(project_dir, project, self._scene_id(project, scene_id))
