"""A reload keeps one's work: the saved project reopens as its owner's, the unsaved one is still there.

Headless Chromium (see test_studio_browser.py for the set-up) against the studio on the animatic preset.
The page keeps its visitor key in localStorage (gr.BrowserState); a reload is a new gradio session, so
only that key can tell the server who is back.
"""

from __future__ import annotations

import os

import pytest

from tests.browser.test_studio_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PROMPT,
    TIMEOUT_MS,
    _free_port,
    assert_no_error_badges,
    settle,
)

pytestmark = pytest.mark.browser
HERON = "A heron waits by a quiet river at dusk."


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    from studio.config import load_preset
    from studio.ui import build_app, launch_options, queue

    demo = queue(build_app(load_preset("animatic"), projects_root=tmp_path_factory.mktemp("projects"),
                           preset_reason="reload test"))
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=_free_port(), quiet=True,
                            **launch_options(demo))
    yield demo, url
    demo.close()


def wait_until(condition, seconds: float = 60.0) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the page never named its browser"
        time.sleep(0.05)


def plan(page, prompt: str) -> str:
    from playwright.sync_api import expect

    box = page.locator("#prompt textarea")
    # The tabs redraw after each project change (the prompt box too, with no progress marker to wait for):
    # type again until the prompt stays put.
    for _ in range(30):
        box.fill(prompt)
        page.wait_for_timeout(1000)
        if box.input_value() == prompt:
            break
    page.locator("#plan-btn").click()
    expect(page.locator("#plan-msg")).to_contain_text("Planned")
    settle(page)
    return page.locator("#project-id input, #project-id textarea").first.input_value()


def open_project(page, project_id: str) -> str:
    field = page.locator("#project-id input, #project-id textarea").first
    field.fill(project_id)
    page.get_by_role("button", name="Open", exact=True).click()
    settle(page)
    return field.input_value()


def test_after_a_reload_the_owner_reopens_and_generates_into_the_saved_project(studio):
    """Catches: the owner key living in the tab's session (a reload made the owner open a copy and be refused
    Generate), and a reload deleting the session's unsaved projects."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `scripts/setup.sh --test` (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    demo, url = studio
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(url)
            page.wait_for_selector("#studio-header")
            settle(page)
            wait_until(lambda: demo.studio.workspace.bound_sessions())
            kept = plan(page, PROMPT)
            page.get_by_label("Save as").fill("reload-film")
            page.get_by_role("button", name="Save", exact=True).click()
            expect(page.locator("#project-summary")).to_contain_text("reload-film")
            settle(page)  # the tabs redraw after a save (the prompt box too): before the next prompt is typed
            unsaved = plan(page, HERON)
            assert kept.startswith("p-") and unsaved.startswith("p-") and kept != unsaved

            workspace = demo.studio.workspace
            before_reload = workspace.bound_sessions()
            page.reload()
            page.wait_for_selector("#studio-header")
            settle(page)
            # The new page's load event names its browser; a person cannot click faster than that, a test can.
            wait_until(lambda: workspace.bound_sessions() - before_reload)
            expect(page.locator("#prompt textarea")).to_have_value("")  # a fresh page: nothing shown yet
            assert open_project(page, unsaved) == unsaved  # still there, and still this browser's
            expect(page.locator("#prompt textarea")).to_have_value(HERON)
            assert open_project(page, "reload-film") == "reload-film"  # its owner's: not a copy
            expect(page.locator("#project-summary")).not_to_contain_text("opened a copy")
            saved = demo.studio.workspace.root / "reload-film"
            files_before = {p for p in saved.rglob("*") if p.is_file()}
            page.get_by_role("tab", name="3 · Generate").click()
            page.locator("#generate-btn").click()
            expect(page.locator("#gen-msg")).to_contain_text("Done:", timeout=TIMEOUT_MS)
            settle(page)
            assert_no_error_badges(page)
            new_files = {p for p in saved.rglob("*") if p.is_file()} - files_before
            assert new_files, "the generation went somewhere else than the saved project"

            # Another browser (a fresh profile: no key) opens a copy of it.
            stranger = browser.new_context().new_page()
            stranger.set_default_timeout(TIMEOUT_MS)
            stranger.goto(url)
            stranger.wait_for_selector("#studio-header")
            settle(stranger)
            assert open_project(stranger, "reload-film").startswith("p-")
        finally:
            browser.close()
