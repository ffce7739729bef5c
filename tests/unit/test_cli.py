"""The command line: every command has --help; errors are one line with exit code 2."""

import subprocess
import sys

import pytest

from studio.cli import command_names, main

ALL = ["plan", "references", "refs", "generate", "regenerate", "takes", "approve", "refine", "export", "import", "qa",
       "weights", "models", "run", "eval", "bench"]
# Unpacking an archive or marking chunks runs no model; weights and models have --preset on their actions.
WITHOUT_PRESET = {"import", "weights", "models", "approve"}


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
    assert ("--preset" in capsys.readouterr().out) == (command not in WITHOUT_PRESET)


def test_unknown_preset_is_one_line_and_exit_code_2(tmp_path, capsys):
    assert main(["plan", "a fox", "--project", str(tmp_path / "p"), "--preset", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: preset 'nope' not found") and "\n" not in err
    assert not (tmp_path / "p").exists()


def test_missing_project_is_one_line(tmp_path, capsys):
    assert main(["generate", str(tmp_path / "none"), "--preset", "tiny"]) == 2
    assert "project.json is missing" in capsys.readouterr().err


def test_import_unpacks_an_archive_into_the_project_folder(tmp_path, capsys):
    from studio.export.archive import export_archive
    from studio.project.model import Script, load_project, new_project, save_project

    save_project(new_project("fox", "tiny", Script(prompt="a fox")), tmp_path / "fox")
    archive = export_archive(tmp_path / "fox", tmp_path / "fox.zip")
    assert main(["import", str(archive), "--project", str(tmp_path / "mine" / "copy")]) == 0
    assert load_project(tmp_path / "mine" / "copy").id == "copy"
    assert main(["import", str(archive), "--project", str(tmp_path / "mine" / "copy")]) == 2  # kept, not replaced
    assert "already exists" in capsys.readouterr().err
    assert main(["import", str(archive), "--project", str(tmp_path / "mine" / "copy"), "--overwrite"]) == 0


@pytest.mark.parametrize("seed", [str(2**70), "-1", "ten"])
def test_a_seed_beyond_64_bits_is_refused_before_any_work(tmp_path, capsys, seed):
    with pytest.raises(SystemExit) as exit_:
        main(["regenerate", str(tmp_path / "p"), "--scene", "s1", "--chunk", "0", "--seed", seed])
    assert exit_.value.code == 2
    assert "--seed" in capsys.readouterr().err
