"""Secure defaults: tokens only from the environment and never on disk or in logs; safe loading; a local server.

- The remote planner reads its key from STUDIO_PLANNER_TOKEN or HF_TOKEN, sends it as the bearer token,
  and the key appears in no log record, no printed line, no error and no file of the project.
- torch.load is only ever called with weights_only=True, nothing unpickles, trust_remote_code never appears.
- The app binds 127.0.0.1 without a share link unless asked, and Gradio serves files only from the
  projects root and the assets folder.
"""

from __future__ import annotations

import ast
import json
import logging
from pathlib import Path

import pytest

from tests.pipeline.test_planner_remote import VALID, FakeChatServer

REPO = Path(__file__).resolve().parents[2]
SOURCES = sorted((REPO / "studio").rglob("*.py")) + [REPO / "app.py"]
MARKER = "hf_MARKER_do_not_leak_4f1c9e27b3"
PROMPT = "A fox runs through the snow. An owl watches it."


@pytest.fixture
def chat_server(monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)  # a local server, not the Hub
    server = FakeChatServer()
    server.thread.start()
    monkeypatch.setenv("STUDIO_PLANNER_URL", server.url)
    monkeypatch.setenv("STUDIO_PLANNER_MODEL", "test-model")
    for name in ("STUDIO_PLANNER_TOKEN", "HF_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def files_containing(folder: Path, secret: str) -> list[str]:
    return [str(p) for p in folder.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


def all_log_text(caplog) -> str:
    """Every record as a handler would write it: the message, its arguments and any traceback."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(record) + repr(record.args) for record in caplog.records)


@pytest.mark.parametrize("variable", ["STUDIO_PLANNER_TOKEN", "HF_TOKEN"])
def test_token_goes_to_the_server_and_nowhere_else(variable, chat_server, monkeypatch, caplog, capsys, tmp_path):
    from studio.cli import main

    monkeypatch.setenv(variable, MARKER)
    chat_server.chat("not json at all")  # one rejected answer: the retry path logs a warning too
    chat_server.chat(json.dumps(VALID))
    caplog.set_level(logging.DEBUG)
    project_dir = tmp_path / "project"

    assert main(["-v", "plan", PROMPT, "--planner", "remote", "--project", str(project_dir), "--preset", "tiny"]) == 0

    assert [r["auth"] for r in chat_server.requests] == [f"Bearer {MARKER}"] * 2
    assert (project_dir / "project.json").is_file() and len(caplog.records) > 0
    assert any("remote planner" in record.getMessage() for record in caplog.records)
    assert MARKER not in all_log_text(caplog)
    out, err = capsys.readouterr()
    assert MARKER not in out + err
    assert files_containing(tmp_path, MARKER) == []
    saved = (project_dir / "project.json").read_text()
    assert "token" not in saved.lower() and "Bearer" not in saved


def test_refused_token_is_not_repeated_in_the_error_or_the_logs(chat_server, monkeypatch, caplog, capsys, tmp_path):
    from studio.cli import main

    monkeypatch.setenv("STUDIO_PLANNER_TOKEN", MARKER)
    chat_server.error(401, f"invalid token {MARKER}")  # a server that echoes the key back
    caplog.set_level(logging.DEBUG)
    assert main(["plan", PROMPT, "--planner", "remote", "--project", str(tmp_path / "p"), "--preset", "tiny"]) == 2
    out, err = capsys.readouterr()
    assert "refused the token (HTTP 401)" in err and err.count("\n") == 1
    assert MARKER not in out + err + all_log_text(caplog)
    assert not (tmp_path / "p").exists()


def test_an_answer_echoing_the_token_is_not_logged(chat_server, monkeypatch, caplog, tmp_path):
    """A hostile or broken endpoint puts the key in its answers: the retry warnings must not repeat it."""
    from studio.config import load_preset
    from studio.errors import StudioError
    from studio.plan.stage import plan_project

    monkeypatch.setenv("HF_TOKEN", MARKER)
    for _ in range(3):
        chat_server.chat(f"Authorization: Bearer {MARKER}")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(StudioError) as info:
        plan_project(tmp_path / "p", PROMPT, load_preset("tiny"), planner="remote")
    assert MARKER not in str(info.value) and MARKER not in all_log_text(caplog)


def test_remote_settings_never_show_the_token(monkeypatch):
    from studio.config import load_preset
    from studio.plan.remote import remote_settings

    monkeypatch.setenv("STUDIO_PLANNER_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("STUDIO_PLANNER_TOKEN", MARKER)
    settings = remote_settings(load_preset("tiny"))
    assert settings.token == MARKER  # read from the environment only
    assert MARKER not in repr(settings) and MARKER not in str(settings)


def test_no_token_setting_exists_outside_the_environment():
    """A preset (or project.json) cannot hold a key: no field of the config is a token or a key."""
    import dataclasses

    from studio.config import load_preset

    def field_names(obj) -> list[str]:
        names = []
        for field in dataclasses.fields(obj):
            names.append(field.name.lower())
            value = getattr(obj, field.name, None)
            if dataclasses.is_dataclass(value):
                names += field_names(value)
        return names

    names = field_names(load_preset("tiny"))
    secret_like = [n for n in names if ("token" in n and "tokens" not in n) or any(w in n for w in ("key", "secret", "password"))]
    assert len(names) > 20 and secret_like == []
    for preset_file in (REPO / "presets").glob("*.yaml"):
        text = preset_file.read_text().lower()
        assert "hf_" not in text and "api_key" not in text and "bearer" not in text, preset_file


# ----------------------------------------------------------------------------- safe loading


def calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
            yield owner, name, node


def test_torch_load_only_with_weights_only_and_nothing_unpickles():
    torch_loads, problems = 0, []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for owner, name, node in calls(tree):
            where = f"{path.relative_to(REPO)}:{node.lineno}"
            keywords = {k.arg: k.value for k in node.keywords}
            if owner == "torch" and name == "load":
                torch_loads += 1
                flag = keywords.get("weights_only")
                # The checkpoint reader's own unpickler resolves every global to an inert stand-in.
                restricted = keywords.get("pickle_module")
                restricted = isinstance(restricted, ast.Name) and restricted.id == "RESTRICTED_PICKLE"
                if not (isinstance(flag, ast.Constant) and flag.value is True) and not restricted:
                    problems.append(f"{where}: torch.load without weights_only=True")
            if owner in ("pickle", "dill", "cloudpickle", "joblib") and name in ("load", "loads"):
                problems.append(f"{where}: {owner}.{name}")
            if name == "load" and owner in ("np", "numpy"):
                flag = keywords.get("allow_pickle")
                if flag is not None and not (isinstance(flag, ast.Constant) and flag.value is False):
                    problems.append(f"{where}: np.load with allow_pickle")
            if name == "from_pretrained" and "trust_remote_code" in keywords:
                problems.append(f"{where}: from_pretrained(trust_remote_code=...)")
    assert torch_loads >= 1  # the checkpoint loader is there and was checked
    assert problems == []


def test_trust_remote_code_never_appears():
    offenders = [str(p.relative_to(REPO)) for p in SOURCES + sorted((REPO / "presets").glob("*.yaml"))
                 if "trust_remote_code" in p.read_text(encoding="utf-8")]
    assert offenders == []


# ----------------------------------------------------------------------------- the server's defaults


def test_app_binds_localhost_without_a_share_link_by_default(monkeypatch, tmp_path):
    import gradio as gr

    import app

    for name in ("GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT", "GRADIO_SHARE"):
        monkeypatch.delenv(name, raising=False)
    launched: list[dict] = []
    def launch(self, **kwargs):
        launched.append(kwargs)
        return None, "http://127.0.0.1:7860/", None  # (app, local url, share url), as gradio returns them

    monkeypatch.setattr(gr.Blocks, "launch", launch)
    monkeypatch.setattr(gr.Blocks, "block_thread", lambda self: None)

    app.main(["--preset", "tiny", "--projects", str(tmp_path / "projects")])
    options = launched[-1]
    assert options["server_name"] == "127.0.0.1" and options["share"] is False
    assert options["allowed_paths"] == [str((tmp_path / "projects").resolve()), str(REPO / "assets")]
    assert options["max_file_size"]

    app.main(["--preset", "tiny", "--projects", str(tmp_path / "projects"), "--share", "--host", "0.0.0.0"])
    assert launched[-1]["share"] is True and launched[-1]["server_name"] == "0.0.0.0"  # only when asked


def test_gradio_serves_files_only_from_the_projects_root_and_assets(tmp_path):
    import httpx

    from studio.config import load_preset
    from studio.ui import build_app, launch_options, queue
    from tests.ui.conftest import free_port

    root = tmp_path / "projects"
    demo = queue(build_app(load_preset("tiny"), projects_root=root))
    options = launch_options(demo)
    assert options["allowed_paths"] == [str(root.resolve()), str(REPO / "assets")]
    inside = root / "saved" / "frame.png"
    inside.parent.mkdir(parents=True)
    inside.write_bytes(b"\x89PNG\r\n\x1a\n inside")
    outside = tmp_path / "secret.txt"
    outside.write_text("outside the projects root")
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True,
                            **options)
    try:
        def get(path: Path | str):
            return httpx.get(f"{url}gradio_api/file={path}", timeout=10)

        assert get(inside).status_code == 200 and get(REPO / "assets" / "studio.css").status_code == 200
        for path in (outside, REPO / "presets" / "tiny.yaml", REPO / "app.py", "/etc/passwd",
                     f"{root}/../secret.txt", root.parent / "secret.txt"):
            reply = get(path)
            assert reply.status_code in (403, 404), (path, reply.status_code)
            assert b"outside the projects root" not in reply.content and b"root:" not in reply.content
    finally:
        demo.close()
