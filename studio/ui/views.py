"""What the tabs show, as plain data computed from a Project (no gradio here, so it is easy to test)."""

from __future__ import annotations

import html
from pathlib import Path

from studio.project.model import Chunk, Project, Scene
from studio.project.paths import ProjectPaths

TIMELINE_COLUMNS = ["chunk", "status", "approval", "takes", "seed", "seconds", "prompt"]
STATUS_LABELS = {"ready": "ready", "stale": "stale", "failed": "failed", "hidden": "hidden (past the count)", "pending": "not made"}


def count_of(number: int, noun: str, plural: str | None = None) -> str:
    """'1 scene', '2 scenes', '1 entity', '3 entities'."""
    if number == 1:
        return f"1 {noun}"
    return f"{number} {plural or (noun[:-1] + 'ies' if noun.endswith('y') else noun + 's')}"


def existing(path: Path | None) -> str | None:
    """`path` (computed by ProjectPaths, never read from a record) as a string if it is a file, else None."""
    return str(path) if path is not None and path.is_file() else None


def draft_video(project_dir: Path, scene: Scene) -> str | None:
    """The scene's draft when it shows the active takes (a stale one, after a kill, is not shown)."""
    from studio.project.draft import current_draft

    return existing(current_draft(ProjectPaths(project_dir), scene))


def refined_video(project_dir: Path, scene: Scene) -> str | None:
    return existing(ProjectPaths(project_dir).refined(scene.id))


def final_video(project_dir: Path) -> str | None:
    return existing(ProjectPaths(project_dir).final())


def scene_choices(project: Project) -> list[tuple[str, str]]:
    """Dropdown choices: (label, scene id)."""
    return [(f"{i + 1}. {scene.title or scene.id}", scene.id) for i, scene in enumerate(project.script.scenes)]


def chunk_states(scene: Scene) -> list[str]:
    """The status of every planned chunk: the made ones' status, 'pending' for those not made yet."""
    made = [chunk.status for chunk in scene.chunks]
    return made + ["pending"] * max(0, scene.n_chunks - len(made))


def approval_label(chunk: Chunk) -> str:
    """The approval column: the recorded verdict, and for a chunk no longer ready a reminder that it does not count."""
    if chunk.approval == "approved" and chunk.status != "ready":
        return f"approved ({chunk.status}: does not count)"
    return chunk.approval


def takes_label(chunk: Chunk) -> str:
    """The takes column: empty for a chunk made once, else which of its versions is active ('2 of 3')."""
    return f"{chunk.take} of {len(chunk.takes) + 1}" if chunk.takes else ""


def timeline_rows(scene: Scene) -> list[list]:
    rows = []
    for index, status in enumerate(chunk_states(scene)):
        if index < len(scene.chunks):
            chunk = scene.chunks[index]
            rows.append([index, STATUS_LABELS[status], approval_label(chunk), takes_label(chunk), chunk.seed,
                         round(chunk.seconds, 2), chunk.prompt])
        else:
            rows.append([index, STATUS_LABELS[status], "", "", scene.chunk_seed(index), 0.0, scene.prompt_for_chunk(index)])
    return rows


APPROVAL_MARKS = {"approved": "✓", "rejected": "✕"}


def timeline_html(scene: Scene | None) -> str:
    """A strip of chunk cells coloured by status, ringed and marked by approval; the legend says what each means."""
    if scene is None:
        return "<div class='timeline-empty'>No scene selected.</div>"
    cells = []
    verdicts = {"approved": 0, "rejected": 0}
    for index, status in enumerate(chunk_states(scene)):
        approval = scene.chunks[index].approval if index < len(scene.chunks) else "pending"
        mark, classes = APPROVAL_MARKS.get(approval, ""), f"chunk-cell chunk-{status}"
        if mark:
            verdicts[approval] += 1
            classes += f" chunk-{approval}"
        title = f"chunk {index}: {STATUS_LABELS[status]}" + (f", {approval}" if mark else "")
        cells.append(f"<div class='{classes}' title='{html.escape(title)}'>{index}{mark}</div>")
    counts = {s: 0 for s in STATUS_LABELS}
    for status in chunk_states(scene):
        counts[status] += 1
    legend = [f"<span class='legend legend-{s}'>{STATUS_LABELS[s]} {n}</span>" for s, n in counts.items() if n]
    legend += [f"<span class='legend legend-{v}'>{APPROVAL_MARKS[v]} {v} {n}</span>" for v, n in verdicts.items() if n]
    return (f"<div class='timeline'><div class='timeline-cells'>{''.join(cells)}</div>"
            f"<div class='timeline-legend'>{' '.join(legend)}</div></div>")


def entity_cards(project: Project, project_dir: Path) -> list[dict]:
    """One card per entity: what the References tab draws (plain, JSON-safe values)."""
    cards = []
    for entity in project.script.entities:
        scenes = [s.title or s.id for s in project.script.scenes if entity.id in s.entity_ids]
        cards.append({
            "id": entity.id, "name": entity.name, "kind": entity.kind, "description": entity.description,
            "status": entity.status, "seed": entity.seed, "image": existing(ProjectPaths(project_dir).entity_image(entity.id)),
            "scenes": scenes,
        })
    return cards


def scene_gallery(project: Project, project_dir: Path) -> list[tuple[str, str]]:
    """(scene image, caption) pairs for the scenes that have an image."""
    items = []
    for i, scene in enumerate(project.script.scenes):
        path = existing(ProjectPaths(project_dir).scene_image(scene.id))
        if path:
            items.append((path, f"{i + 1}. {scene.title or scene.id}"))
    return items


def refine_views(project_dir: Path, scene: Scene) -> tuple[str | None, str | None, str | None]:
    """The Refine tab for one scene: its draft, its refined video and that video's X-T slice (None: not made)."""
    from studio.refine.stage import XT_SLICE_NAME

    refined = refined_video(project_dir, scene)
    xt_slice = existing(ProjectPaths(project_dir).scene_dir(scene.id) / XT_SLICE_NAME)
    return draft_video(project_dir, scene), refined, xt_slice if refined else None


def scene_files(project: Project, project_dir: Path) -> list[str]:
    """Every scene's best video (refined, else draft) that exists."""
    files = []
    for scene in project.script.scenes:
        path = refined_video(project_dir, scene) or draft_video(project_dir, scene)
        if path:
            files.append(path)
    return files


def project_summary(project: Project, saved: bool, project_dir: Path | None = None) -> str:
    """One line under the project bar: id, counts, progress, whether it is kept after the session."""
    script = project.script
    total = sum(s.n_chunks for s in script.scenes)
    ready = sum(1 for s in script.scenes for c in s.chunks if c.status == "ready")
    approved = sum(1 for e in script.entities if e.status == "approved")
    refined = 0 if project_dir is None else sum(1 for s in script.scenes if refined_video(project_dir, s))
    stale = sum(1 for s in script.scenes for c in s.chunks if c.status not in ("ready", "hidden"))
    stale_text = f" · {stale} chunks stale" if stale else ""
    where = "saved (kept)" if saved else "session only (deleted when you close the tab; press Save to keep it)"
    return (f"**{html.escape(project.id)}** · {len(script.scenes)} scenes · {approved}/{len(script.entities)} "
            f"references approved · {ready}/{total} chunks ready{stale_text} · {refined} refined · {where}")


def scene_images_note(project: Project, project_dir: Path) -> str:
    """Under the scene images: which ones a reference change made outdated, and the one click that remakes them."""
    from studio.project.staleness import scenes_needing_images

    from studio.ui.scene_images import unreadable_scene_images

    outdated = scenes_needing_images(project, project_dir) + unreadable_scene_images(project, project_dir)
    if not outdated:
        return ""
    return (f"⚠ Scene images to make again (a reference changed, or the file cannot be read): {', '.join(html.escape(s) for s in outdated)}. "
            "Press **Remake scene images**.")
