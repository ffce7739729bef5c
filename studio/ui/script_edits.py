"""The Plan tab's table edits: every cell edit, added or removed row is checked and saved at once.

A bad cell is named inline and the page keeps the edit; a good one is saved, and when saving normalised
what was typed (a new row's id, "slow pan to the left" -> "pan left") the table shows the saved values,
so the page never shows something other than the project.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from studio.errors import ValidationError
from studio.project.model import MAX_SCENES, load_project
from studio.ui import views
from studio.ui.inputs import _rows, one_line, parse_count, user_errors
from studio.ui.state import SessionState


def _same_rows(sent: list[list], saved: list[list]) -> bool:
    """The table as sent equals the table as saved, cell by cell as text (the page sends strings)."""
    def text(cell: Any) -> str:
        if isinstance(cell, float) and cell.is_integer():
            cell = int(cell)
        return "" if cell is None else " ".join(str(cell).split())

    return len(sent) == len(saved) and all(
        len(a) == len(b) and all(text(x) == text(y) for x, y in zip(a, b)) for a, b in zip(sent, saved))


class ScriptEdits:
    """Mixed into the studio's Handlers (its workspace and owner checks)."""

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
        return (scene_rows, entity_rows,
                f"✓ Saved: {views.count_of(len(script.scenes), 'scene')}, {views.count_of(len(script.entities), 'entity')}.")

    def check_script(self, project_id: str, prompt: str, scene_rows: Any, entity_rows: Any, request: gr.Request,
                     session: SessionState | None = None):
        """Check (and save when valid) after a cell edit; returns (scenes, entities, message).

        A table is rewritten only where saving changed what was typed, so a cell being edited next is
        left alone in every other case.
        """
        if not (project_id or "").strip():
            return gr.skip(), gr.skip(), "Plan a project first; the tables are saved into it."
        saved_scenes, saved_entities, message = self.apply_script(project_id, prompt, scene_rows, entity_rows, request,
                                                                   session)
        if not isinstance(saved_scenes, list):  # refused: the page keeps the edits
            return gr.skip(), gr.skip(), message
        return (gr.skip() if _same_rows(_rows(scene_rows), saved_scenes) else saved_scenes,
                gr.skip() if _same_rows(_rows(entity_rows), saved_entities) else saved_entities, message)

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
        new_rows[0][0] = ""  # saving gives the new scene a unique id
        return rows + new_rows, f"Added scene {number}: fill in its cells (each edit is saved)."

    def remove_scene(self, scene_rows: Any, row_number: Any):
        """Remove scene row `row_number` (1-based; empty or 0 = the last one)."""
        rows = _rows(scene_rows)
        if not rows:
            return gr.skip(), "⚠ there is no scene to remove"
        try:
            index = (parse_count(row_number, "scene number", 0, len(rows)) or len(rows)) - 1
        except ValidationError as error:
            return gr.skip(), f"⚠ {one_line(error)}"
        del rows[index]
        return rows, f"Removed scene row {index + 1}."

    def edit_rows(self, change: str, project_id: str, prompt: str, scene_rows: Any, entity_rows: Any, row_number: Any,
                  session: SessionState, request: gr.Request):
        """Add or remove a row and save the result: (scenes, entities, message). A refused change (row 9
        of 4) saves nothing, and its line is the message."""
        rows, note = self.add_scene(scene_rows) if change == "add" else self.remove_scene(scene_rows, row_number)
        if not isinstance(rows, list):
            return gr.skip(), gr.skip(), note
        if not (project_id or "").strip():
            return rows, gr.skip(), note
        saved_scenes, saved_entities, message = self.apply_script(project_id, prompt, rows, entity_rows, request,
                                                                   session)
        if not isinstance(saved_scenes, list):  # the new table is refused (a blank row's cell): show it with why
            return rows, gr.skip(), f"{note} {message}"
        return saved_scenes, saved_entities, f"{note} {message}"

    def add_and_save(self, project_id: str, prompt: str, scene_rows: Any, entity_rows: Any, row_number: Any,
                     session: SessionState, request: gr.Request):
        """The Add scene button: `edit_rows` adding a row."""
        return self.edit_rows("add", project_id, prompt, scene_rows, entity_rows, row_number, session, request)

    def remove_and_save(self, project_id: str, prompt: str, scene_rows: Any, entity_rows: Any, row_number: Any,
                        session: SessionState, request: gr.Request):
        """The Remove scene button: `edit_rows` removing row `row_number`."""
        return self.edit_rows("remove", project_id, prompt, scene_rows, entity_rows, row_number, session, request)
