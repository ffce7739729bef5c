"""Offline means offline: animatic and tiny runs open no network connection at all.

Every socket connect outside loopback is recorded and refused. The Hub's offline switch that
conftest sets is taken away first, so it is the preset that must switch the Hub off by itself.
"""

from __future__ import annotations

import ipaddress
import socket
import sys

import pytest

from studio.cli import main
from studio.offline import OFFLINE_SWITCHES

PROMPT = "A red fox explores a snowy forest at dawn. An old owl watches the fox from a pine tree."


def _is_loopback(address) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX paths stay on this machine
        return True
    host = address[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: resolving and reaching it is the network


@pytest.fixture
def no_network(monkeypatch):
    """Refuse (and record) every connect outside loopback; the offline switches start unset."""
    for name in OFFLINE_SWITCHES:
        monkeypatch.delenv(name, raising=False)
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    attempts: list = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guarded(real):
        def connect(sock, address):
            if not _is_loopback(address):
                attempts.append(address)
                raise OSError(f"test: no network ({address!r})")
            return real(sock, address)
        return connect

    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        # Looking a host name up is the first step of every connection (and where offline retries begin).
        if host not in (None, "localhost") and not _is_loopback((host if isinstance(host, str) else host.decode(),)):
            attempts.append(host)
            raise socket.gaierror(f"test: no network ({host!r})")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded(real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guarded(real_connect_ex))
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return attempts


def test_an_animatic_run_with_metrics_opens_no_connection(tmp_path, no_network, capsys):
    project = tmp_path / "fox"
    for argv in (["plan", PROMPT, "--project", str(project), "--preset", "animatic"],
                 ["refs", str(project), "--approve"],
                 ["generate", str(project), "--chunks", "2"],
                 ["export", str(project)]):
        assert main(argv) == 0, argv
    assert main(["eval", str(project / "final.mp4"), "--prompt", PROMPT]) == 0
    report = capsys.readouterr().out
    assert no_network == []
    # The hub CLIP is not cached here: the CLIP score says so in one line, without advice to go offline.
    assert "clip" in report.lower() and "--preset animatic" not in report


def test_a_tiny_run_opens_no_connection(tmp_path, no_network):
    """The tiny preset's models are built in code, so its run would connect to nothing even with the Hub on:
    what is checked besides is that the run itself switched the Hub off. Catches the tiny preset no longer
    treated as offline (a hub model added to it would then try the network)."""
    from studio.offline import is_offline

    project = tmp_path / "fox"
    assert not is_offline()
    for argv in (["plan", PROMPT, "--project", str(project), "--preset", "tiny", "--scenes", "1"],
                 ["refs", str(project)],
                 ["generate", str(project), "--chunks", "1"]):
        assert main(argv) == 0, argv
    assert no_network == []
    assert is_offline() and sys.modules["huggingface_hub.constants"].HF_HUB_OFFLINE is True


def test_offline_presets_switch_the_hub_off_and_others_do_not(monkeypatch):
    from studio.config import load_preset
    from studio.offline import go_offline, is_offline, works_offline

    for name in OFFLINE_SWITCHES:
        monkeypatch.delenv(name, raising=False)
    assert not go_offline(load_preset("gpu")) and not is_offline()
    assert not go_offline(load_preset("tiny"), planner="remote")  # the remote planner is the network
    assert works_offline(load_preset("tiny")) and works_offline(load_preset("animatic"))
    assert go_offline(load_preset("animatic")) and is_offline()
