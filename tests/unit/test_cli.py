"""The command line: every command has --help; errors are one line with exit code 2."""

import subprocess
import sys

import pytest

from studio.cli import command_names, main

ALL = ["plan", "references", "refs", "generate", "regenerate", "refine", "export", "qa", "run", "eval", "bench"]


def test_help_lists_every_command():
    out = subprocess.run([sys.executable, "-m", "studio", "--help"], capture_output=True, text=True, check=True).stdout
    for command in ALL:
        assert command in out
    assert sorted(command_names()) == sorted(ALL)


@pytest.mark.parametrize("command", ALL)
def test_each_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert "--preset" in capsys.readouterr().out


def test_unknown_preset_is_one_line_and_exit_code_2(tmp_path, capsys):
    assert main(["plan", "a fox", "--project", str(tmp_path / "p"), "--preset", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: preset 'nope' not found") and "\n" not in err
    assert not (tmp_path / "p").exists()


def test_missing_project_is_one_line(tmp_path, capsys):
    assert main(["generate", str(tmp_path / "none"), "--preset", "tiny"]) == 2
    assert "project.json is missing" in capsys.readouterr().err
