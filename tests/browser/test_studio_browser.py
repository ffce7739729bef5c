"""The studio in headless Chromium: click through the five tabs, edit a cell, watch a video play.

Every tab follows the project without pressing Open: a title edit reaches the Generate scene list, an
approval remakes the scene images and updates the summary, a rejected reference leaves its scene image,
Stop says what it kept (no error badge), an edit marks the chunks stale and export warns about them,
export names the scene it left out, Refine shows the picked scene's own X-T slice, and a bad value is a
line beside its button, never an Error badge.

Playwright drives Debian's Chromium (/usr/bin/chromium; `scripts/setup.sh --test` installs it, since
Playwright cannot download its own browser here). The studio runs on the animatic preset (fast, no
models, and legible frames for the screenshots saved to docs/screenshots/<tab>.png).

The live preview is an HLS stream (gradio re-muxes each chunk into MPEG-TS segments played by hls.js);
the test starts it (muted) and checks that it really advances (currentTime > 0, readyState >= 2), and
the same for the scene draft, a plain mp4 element.
"""

from __future__ import annotations

import os
import re
import socket
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"]
# The README's screenshots are refreshed with STUDIO_SCREENSHOTS=docs/screenshots; a plain run keeps its
# screenshots out of the working tree.
SCREENSHOTS = Path(os.environ.get("STUDIO_SCREENSHOTS") or Path(tempfile.gettempdir()) / "studio-screenshots")
PROMPT = "A red fox explores a snowy forest at dawn. An old owl watches the fox from a pine tree."
TIMEOUT_MS = 90_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def studio_url(tmp_path_factory):
    from studio.config import load_preset
    from studio.ui import build_app, launch_options, queue

    demo = queue(build_app(load_preset("animatic"), projects_root=tmp_path_factory.mktemp("projects"),
                           preset_reason="no CUDA GPU here: an offline storyboard"))
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=_free_port(), quiet=True,
                            **launch_options(demo))
    yield url
    demo.close()


@pytest.fixture(scope="module")
def page(studio_url):
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `scripts/setup.sh --test` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(studio_url)
        page.wait_for_selector("#studio-header")
        yield page
        browser.close()


def settle(page) -> None:
    """Wait until no event is pending (gradio shows a status tracker on every output of a running event)."""
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=\"status-tracker\"].pending, .pending').length === 0")
    page.wait_for_timeout(300)


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    settle(page)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def edit_cell(page, table: str, row: int, column: int, text: str) -> None:
    """Double-click a Dataframe cell (gradio marks them data-testid=cell-ROW-COL), type, press Enter."""
    cell = page.locator(f'{table} [data-testid="cell-{row}-{column}"]')
    cell.dblclick()
    field = cell.locator("textarea, input").first
    field.fill(text)
    field.press("Enter")


def test_click_through_the_studio(page):
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    # 1. Plan: plan, then edit a cell (a bad value is named inline; a good one is saved).
    page.locator("#prompt textarea").fill(PROMPT)
    page.locator("#plan-btn").click()
    expect(page.locator("#plan-msg")).to_contain_text("Planned 2 scenes")
    expect(page.locator("#project-summary")).to_contain_text("2 scenes")
    settle(page)
    from studio.plan.tables import SCENE_COLUMNS

    chunks_column = SCENE_COLUMNS.index("chunks")
    edit_cell(page, "#scenes-table", 0, chunks_column, "many")
    expect(page.locator("#plan-msg")).to_contain_text("scenes row 1, column 'chunks'")
    edit_cell(page, "#scenes-table", 0, chunks_column, "2")
    expect(page.locator("#plan-msg")).to_contain_text("Saved: 2 scenes")
    edit_cell(page, "#scenes-table", 1, chunks_column, "2")
    expect(page.locator("#plan-msg")).to_contain_text("Saved: 2 scenes")
    expect(page.locator("#scenes-table")).to_contain_text("2")
    edit_cell(page, "#scenes-table", 1, SCENE_COLUMNS.index("title"), "Owl at dusk")
    expect(page.locator("#plan-msg")).to_contain_text("Saved: 2 scenes")
    shoot(page, "plan")

    # 2. References: make them, approve the first card.
    page.get_by_role("tab", name="2 · References").click()
    page.locator("#refs-btn").click()
    expect(page.get_by_text("references made")).to_be_visible()
    # The cards are a gr.render: wait until its last re-render is on the page, as a person would see it.
    settle(page)
    approve = page.locator(".entity-card").first.get_by_role("button", name="Approve")
    approve.click()
    expect(page.locator(".entity-card").first).to_contain_text("approved")
    # The approval outdated the scene images of its scenes; the animatic remakes them at once, and the
    # summary follows without pressing Open.
    cards = page.locator(".entity-card").count()  # fox, owl and the pine tree the owl sits in
    expect(page.locator("#project-summary")).to_contain_text(f"1/{cards} references approved")
    expect(page.locator("#scene-gallery img")).to_have_count(2)
    expect(page.locator("#scene-images-msg")).not_to_contain_text("Scene images to make again")
    # Rejecting the last card (the pine) remakes its scene's image without it: the picture changes.
    settle(page)
    before = scene_image_pixels(page, len(page.locator("#scene-gallery img").all()) - 1)
    page.locator(".entity-card").last.get_by_role("button", name="Reject").click()
    expect(page.locator(".entity-card").last).to_contain_text("rejected")
    settle(page)
    for _ in range(60):  # the gallery is drawn again once the image is remade
        after = scene_image_pixels(page, len(page.locator("#scene-gallery img").all()) - 1)
        if after["hash"] != before["hash"]:
            break
        page.wait_for_timeout(500)
    assert after["hash"] != before["hash"], "the scene image still shows the rejected reference"
    assert_no_error_badges(page)
    shoot(page, "references")

    # 3. Generate: the first scene streams chunk by chunk; then a video element really plays.
    page.get_by_role("tab", name="3 · Generate").click()
    page.locator("#gen-scene input").click()  # the scene list follows the title edit
    expect(page.get_by_role("option", name="2. Owl at dusk")).to_be_visible()
    page.keyboard.press("Escape")
    page.locator("#generate-btn").click()
    expect(page.locator("#gen-msg")).to_contain_text("Done: 2 new chunks", timeout=TIMEOUT_MS)
    expect(page.locator("#timeline .chunk-ready")).to_have_count(2)
    settle(page)
    # A bad value is one line beside the buttons; no output gets an Error badge.
    page.locator("#gen-chunks input").fill("999")
    page.locator("#generate-btn").click()
    expect(page.locator("#gen-msg")).to_contain_text("Chunks must be from 0 to")
    settle(page)
    assert_no_error_badges(page)
    page.locator("#gen-chunks input").fill("0")
    live = play(page, "#live-video video")
    assert live["readyState"] >= 2 and live["currentTime"] > 0, live  # the HLS stream decodes and plays
    draft = play(page, "#draft-video video")
    assert draft["readyState"] >= 2 and draft["currentTime"] > 0, draft
    page.locator('#timeline-table [data-testid="cell-1-1"]').click()
    expect(page.locator("#regen-btn")).to_be_visible()

    # Takes: a regeneration keeps the old version; one click on it in the gallery switches back; approve.
    page.get_by_label("Prompt for this chunk").fill("the fox jumps over a log")
    page.locator("#regen-btn").click()
    expect(page.locator("#chunk-msg")).to_contain_text("as take 2", timeout=TIMEOUT_MS)
    expect(page.locator("#takes-gallery .thumbnail-item")).to_have_count(2)
    page.locator('#takes-gallery [aria-label="Thumbnail 1 of 2"]').click()
    expect(page.locator("#chunk-msg")).to_contain_text("now shows take 1")
    expect(page.locator("#takes-gallery")).to_contain_text("take 1 · active")  # the caption is not cut
    expect(page.locator("#timeline .chunk-ready")).to_have_count(2)
    page.locator("#approve-chunk").click()
    expect(page.locator("#chunk-msg")).to_contain_text("chunk 1 approved")
    expect(page.locator("#timeline-table")).to_contain_text("approved")
    expect(page.locator("#timeline .chunk-approved")).to_have_count(1)  # the strip shows the approval too
    settle(page)
    assert_no_error_badges(page)
    shoot(page, "generate")

    # 4. Refine; another scene picked shows its own (no) X-T slice and no line about the first.
    page.get_by_role("tab", name="4 · Refine").click()
    page.locator("#refine-btn").click()
    expect(page.get_by_text("Seam score")).to_be_visible()
    expect(page.locator("#xt-slice img")).to_have_count(1)
    shoot(page, "refine")
    page.locator("#refine-scene input").click()
    page.get_by_role("option", name="2. Owl at dusk").click()
    expect(page.locator("#xt-slice img")).to_have_count(0)
    expect(page.locator("#refine-msg")).not_to_contain_text("Seam score")
    page.locator("#refine-scene input").click()
    page.get_by_role("option", name="1.", exact=False).first.click()
    expect(page.locator("#xt-slice img")).to_have_count(1)

    # 5. Export: the scene not made yet is named, not dropped in silence.
    page.get_by_role("tab", name="5 · Export").click()
    page.locator("#export-btn").click()
    expect(page.locator("#metrics")).to_contain_text("frames")
    expect(page.locator("#metrics")).to_contain_text("is left out: it has no finished chunk yet")
    expect(page.locator("#final-video video")).to_have_count(1)
    expect(page.locator("#timeline-file")).to_contain_text(re.compile(r"timeline\s*\.otio"))  # name and suffix: two spans
    shoot(page, "export")

    # 6. Stop: a message saying what was kept, and no error badge.
    page.get_by_role("tab", name="3 · Generate").click()
    page.locator("#gen-chunks input").fill("16")
    page.locator("#generate-btn").click()
    expect(page.locator("#gen-msg")).to_contain_text("ready")
    page.locator("#stop-btn").click()
    expect(page.locator("#gen-msg")).to_contain_text("Stopped after")
    expect(page.locator("#gen-msg")).to_contain_text("kept")
    settle(page)
    assert_no_error_badges(page)

    # 7. An edit makes the scene's chunks stale: the timeline says so at once, and export warns.
    page.get_by_role("tab", name="1 · Plan").click()
    edit_cell(page, "#scenes-table", 0, SCENE_COLUMNS.index("event"), "the fox digs in the snow")
    expect(page.locator("#plan-msg")).to_contain_text("Saved: 2 scenes")
    page.get_by_role("tab", name="3 · Generate").click()
    expect(page.locator("#timeline .chunk-stale").first).to_be_visible()
    page.get_by_role("tab", name="5 · Export").click()
    page.locator("#export-btn").click()
    # Its only made scene is all stale now: nothing to export, said in the tab with the stale chunks named.
    expect(page.locator("#metrics")).to_contain_text("are stale")
    settle(page)
    assert_no_error_badges(page)

    # 8. Another project planned: no line about the last one's chunks stays in the Generate tab.
    page.get_by_role("tab", name="3 · Generate").click()
    expect(page.locator("#gen-msg")).not_to_be_empty()
    page.get_by_role("tab", name="1 · Plan").click()
    page.locator("#prompt textarea").fill("A paper boat drifts down a rainy street.")
    page.locator("#plan-btn").click()
    expect(page.locator("#plan-msg")).to_contain_text("Planned 1 scene and")
    page.get_by_role("tab", name="3 · Generate").click()
    expect(page.locator("#gen-msg")).to_be_empty()
    expect(page.locator("#chunk-msg")).to_be_empty()


def scene_image_pixels(page, index: int) -> dict:
    """The scene gallery's image `index`: its address and a digest of its pixels, read from the page."""
    return page.evaluate(
        """async (index) => {
            const img = document.querySelectorAll('#scene-gallery img')[index];
            await img.decode();
            const canvas = document.createElement('canvas');
            canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
            const context = canvas.getContext('2d');
            context.drawImage(img, 0, 0);
            const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
            let hash = 0;
            for (let i = 0; i < data.length; i += 7) hash = (hash * 31 + data[i]) >>> 0;
            return {src: img.currentSrc, hash};
        }""", index)


def assert_no_error_badges(page) -> None:
    """No output anywhere shows gradio's red "Error" badge."""
    badges = page.locator('[data-testid="status-tracker"] .error')
    visible = [badges.nth(i).inner_text() for i in range(badges.count()) if badges.nth(i).is_visible()]
    assert visible == [], visible


def play(page, selector: str) -> dict:
    """Start a (muted) video element and report how far it got: currentTime and readyState."""
    return page.evaluate(
        """async (selector) => {
            const video = document.querySelector(selector);
            if (!video) return {currentTime: -1, readyState: -1, error: 'no element'};
            video.muted = true;
            try { await video.play(); } catch (e) { return {currentTime: video.currentTime, readyState: video.readyState, error: String(e)}; }
            // Poll: on a busy 2-core machine the first frames can take a while to decode.
            for (let i = 0; i < 100 && !(video.currentTime > 0 && video.readyState >= 2); i++) {
                await new Promise(resolve => setTimeout(resolve, 150));
            }
            return {currentTime: video.currentTime, readyState: video.readyState, error: video.error && video.error.code};
        }""", selector)
