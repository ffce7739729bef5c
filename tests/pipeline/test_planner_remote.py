"""The remote planner against a real HTTP server on 127.0.0.1 speaking /v1/chat/completions."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from studio.errors import StudioError
from studio.plan.stage import plan_script

VALID = {"entities": [{"id": "fox", "name": "fox", "description": "a red fox"}],
         "scenes": [{"title": "Run", "event": "The fox runs", "entity_ids": ["fox"], "background": "a forest",
                     "camera": "tracking", "n_chunks": 3},
                    {"title": "Sleep", "event": "The fox sleeps", "entity_ids": ["fox"], "background": "",
                     "camera": "Zoom-In", "n_chunks": 2}]}
TOKEN = "hf_secret_token_123"


class FakeChatServer:
    """Answers POST /v1/chat/completions with a queue of scripted replies; records every request."""

    def __init__(self):
        self.replies: list[tuple] = []  # (status, body: dict | str, delay_seconds)
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                status, reply, delay = server.replies.pop(0) if server.replies else (500, {"error": "no reply"}, 0)
                time.sleep(delay)
                data = (reply if isinstance(reply, str) else json.dumps(reply)).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (the timeout test)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def chat(self, content: str, status: int = 200, delay: float = 0.0):
        self.replies.append((status, {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
                                      "choices": [{"index": 0, "finish_reason": "stop",
                                                   "message": {"role": "assistant", "content": content}}]}, delay))

    def error(self, status: int, message: str = "nope"):
        self.replies.append((status, {"error": message}, 0))


@pytest.fixture
def server(monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)  # conftest sets it; this is a local server
    fake = FakeChatServer()
    fake.thread.start()
    monkeypatch.setenv("STUDIO_PLANNER_URL", fake.url)
    monkeypatch.setenv("STUDIO_PLANNER_MODEL", "test-model")
    monkeypatch.setenv("STUDIO_PLANNER_TOKEN", TOKEN)
    yield fake
    fake.httpd.shutdown()
    fake.httpd.server_close()


def _plan(preset, **kwargs):
    return plan_script("A fox runs. It sleeps.", preset, planner="remote", **kwargs)


def test_valid_answer_with_json_schema_format(server, tiny_preset):
    server.chat(json.dumps(VALID))
    script = _plan(tiny_preset)
    assert [(s.id, s.camera, s.n_chunks) for s in script.scenes] == [("scene-1", "tracking", 3), ("scene-2", "zoom in", 2)]
    assert script.scenes[1].background == "a forest"  # carried over
    request = server.requests[0]
    assert request["path"] == "/v1/chat/completions" and request["auth"] == f"Bearer {TOKEN}"
    assert request["body"]["model"] == "test-model"
    # huggingface_hub sends a json_schema format to a base URL in TGI's form: json_object with the schema as value.
    assert request["body"]["response_format"]["type"] == "json_object"
    assert request["body"]["response_format"]["value"]["properties"]["scenes"]["minItems"] == 1


def test_falls_back_to_json_object_then_plain_text(server, tiny_preset):
    server.error(422, "response_format json_schema is not supported")
    server.error(400, "response_format is not supported")
    server.chat("Here is your script:\n```json\n" + json.dumps(VALID) + "\n```")
    script = _plan(tiny_preset, num_scenes=2)
    assert len(script.scenes) == 2
    formats = [r["body"].get("response_format") for r in server.requests]
    assert formats[0]["value"]["properties"]["scenes"]["minItems"] == 2  # the schema, pinned to 2 scenes
    assert formats[1:] == [{"type": "json_object"}, None]


def test_malformed_answer_is_retried_with_the_error(server, tiny_preset):
    server.chat("{not json")
    server.chat(json.dumps({"scenes": []}))
    server.chat(json.dumps(VALID))
    script = _plan(tiny_preset)
    assert len(script.scenes) == 2 and len(server.requests) == 3
    feedback = server.requests[1]["body"]["messages"][-1]["content"]
    assert "rejected" in feedback and "not valid JSON" in feedback
    assert "no scenes" in server.requests[2]["body"]["messages"][-1]["content"]


def test_garbage_every_time_is_one_line_error(server, tiny_preset):
    for _ in range(3):
        server.chat("I cannot help with that.")
    with pytest.raises(StudioError, match="gave no usable script in 3 attempts") as info:
        _plan(tiny_preset)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("status, message", [
    (401, "refused the token \\(HTTP 401\\)"), (403, "refused the token"), (429, "rate-limited \\(HTTP 429\\)"),
    (500, "HTTP 500 server error"), (503, "HTTP 503 server error"),
])
def test_http_errors_are_one_clear_line_without_the_token(status, message, server, tiny_preset):
    server.error(status)
    with pytest.raises(StudioError, match=message) as info:
        _plan(tiny_preset)
    assert "\n" not in str(info.value) and TOKEN not in str(info.value)
    assert len(server.requests) == 1


def test_slow_server_times_out(server, tiny_preset, caplog):
    import dataclasses

    preset = dataclasses.replace(tiny_preset, planning=dataclasses.replace(tiny_preset.planning, timeout_seconds=0.3))
    server.chat(json.dumps(VALID), delay=1.5)
    with pytest.raises(StudioError, match="did not answer within 0.3 s"):  # the timeout, not the server's reply
        _plan(preset)
    assert TOKEN not in caplog.text


def test_unreachable_and_unconfigured(monkeypatch, tiny_preset):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    for name in ("STUDIO_PLANNER_URL", "STUDIO_PLANNER_MODEL", "STUDIO_PLANNER_PROVIDER"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(StudioError, match="has no endpoint"):
        _plan(tiny_preset)
    monkeypatch.setenv("STUDIO_PLANNER_URL", "http://127.0.0.1:9")  # the discard port: nothing listens
    with pytest.raises(StudioError, match="could not reach the remote planner at http://127.0.0.1:9"):
        _plan(tiny_preset)


def test_offline_mode_is_explained(monkeypatch, tiny_preset):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("STUDIO_PLANNER_URL", "http://127.0.0.1:9")
    with pytest.raises(StudioError, match="HF_HUB_OFFLINE is set"):
        _plan(tiny_preset)


def test_a_valid_answer_that_echoes_the_token_is_stored_without_it(server, tiny_preset):
    import dataclasses

    echoed = json.loads(json.dumps(VALID).replace('"prompt": "', f'"prompt": "{TOKEN} '))
    echoed["scenes"][0]["event"] = f"the fox finds a note saying {TOKEN}"
    server.chat(json.dumps(echoed))
    script = _plan(tiny_preset)
    assert TOKEN not in json.dumps(dataclasses.asdict(script))
    assert "***" in script.scenes[0].event
