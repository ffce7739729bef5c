"""Files under the projects root are served with safe headers: an .html or .svg downloads, never runs."""

from __future__ import annotations

import urllib.request


def fetch_file(url: str, path) -> tuple[int, dict[str, str], bytes]:
    with urllib.request.urlopen(f"{url.rstrip('/')}/gradio_api/file={path}", timeout=30) as response:
        return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()


def test_project_media_is_served_with_safe_headers(served_studio):
    demo, url = served_studio
    folder = demo.studio.workspace.root / "evil"
    folder.mkdir(parents=True, exist_ok=True)
    cases = {"page.html": b"<script>alert(1)</script>", "image.svg": b"<svg xmlns='http://www.w3.org/2000/svg'/>",
             "frame.png": b"\x89PNG\r\n\x1a\n"}
    for name, data in cases.items():
        (folder / name).write_bytes(data)
        status, headers, body = fetch_file(url, folder / name)
        assert status == 200 and body == data
        assert headers["x-content-type-options"] == "nosniff"
        if name == "frame.png":
            assert headers["content-type"] == "image/png"
        else:
            assert headers["content-type"] == "application/octet-stream"
            assert headers["content-disposition"].startswith("attachment")


def test_safe_file_headers_keeps_safe_media_inline():
    from studio.ui.media_headers import safe_file_headers

    safe = frozenset({"video/mp4"})
    video = dict(safe_file_headers([(b"content-type", b"video/mp4"), (b"content-disposition", b"inline")], safe))
    assert video == {b"content-type": b"video/mp4", b"content-disposition": b"inline", b"x-content-type-options": b"nosniff"}
    page = dict(safe_file_headers([(b"content-type", b"text/html; charset=utf-8")], safe))
    assert page[b"content-type"] == b"application/octet-stream" and page[b"content-disposition"] == b"attachment"


def test_numbers_from_the_page_and_messages_to_it_are_one_clean_line():
    """NaN, infinity and huge numbers get a message; absolute server paths never reach the page."""
    import pytest

    from studio.errors import StudioError, ValidationError
    from studio.ui.inputs import one_line, parse_count

    for value in (float("nan"), "nan", "inf", "1e400", 2**70):
        with pytest.raises(ValidationError, match="whole number"):
            parse_count(value, "seed", 0, 10)
    message = one_line(StudioError("chunk file /srv/projects/3f2a9c/p/scenes/s1/chunk_000.npz is corrupt"))
    assert message == "chunk file chunk_000.npz is corrupt"


def test_a_bad_queue_size_at_start_up_is_one_line():
    import os
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "app.py", "--preset", "tiny"], capture_output=True, text=True,
                            env={**os.environ, "STUDIO_QUEUE_SIZE": "lots"}, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip() == "error: STUDIO_QUEUE_SIZE must be a whole number of at least 1, got 'lots'"


def test_one_upload_limit_everywhere(served_studio):
    """The browser takes back the largest archive export writes and import accepts: one constant, not three."""
    from studio.export import archive
    from studio.media.images import MAX_UPLOAD_BYTES
    from studio.ui import inputs, launch_options

    demo, _ = served_studio
    assert launch_options(demo)["max_file_size"] == inputs.MAX_UPLOAD_BYTES == archive.MAX_TOTAL_BYTES == MAX_UPLOAD_BYTES
