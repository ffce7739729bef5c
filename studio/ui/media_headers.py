"""Safe headers on the files the studio serves: project media never runs as a page on the studio's origin.

Gradio serves every file under `allowed_paths` (the projects root) inline with its real type, so an
.html or .svg that reached a project folder would run as script on the studio's own origin. This ASGI
middleware rewrites the file route's responses: a type outside gradio's list of safe media types
becomes an `application/octet-stream` attachment, and every file gets `X-Content-Type-Options: nosniff`
(the browser may not guess a type either).
"""

from __future__ import annotations

from typing import Any, Callable

FILE_ROUTE_MARK = "/file="
DOWNLOAD_TYPE = b"application/octet-stream"


def safe_media_types() -> frozenset[str]:
    from gradio.route_utils import XSS_SAFE_MIMETYPES

    return frozenset(XSS_SAFE_MIMETYPES)


def safe_file_headers(headers: list[tuple[bytes, bytes]], safe_types: frozenset[str]) -> list[tuple[bytes, bytes]]:
    """The response headers of one served file, with an unsafe type turned into a download and nosniff added."""
    content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"").decode("latin-1")
    kept = [(k, v) for k, v in headers if k.lower() != b"x-content-type-options"]
    if content_type.split(";")[0].strip().lower() not in safe_types:
        kept = [(k, v) for k, v in kept if k.lower() not in (b"content-type", b"content-disposition")]
        kept += [(b"content-type", DOWNLOAD_TYPE), (b"content-disposition", b"attachment")]
    return kept + [(b"x-content-type-options", b"nosniff")]


class SafeMediaHeaders:
    """ASGI middleware: safe_file_headers on every response of gradio's file route."""

    def __init__(self, app: Callable):
        self.app = app
        self.safe_types = safe_media_types()

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or FILE_ROUTE_MARK not in scope.get("path", ""):
            await self.app(scope, receive, send)
            return

        async def send_safely(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": safe_file_headers(list(message.get("headers", [])), self.safe_types)}
            await send(message)

        await self.app(scope, receive, send_safely)


def middleware() -> list:
    """FastAPI's `middleware=` list for gr.Blocks.launch(app_kwargs=...)."""
    from starlette.middleware import Middleware

    return [Middleware(SafeMediaHeaders)]
