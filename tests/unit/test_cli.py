"""The command line: every command has --help; errors are one line with exit code 2."""

import subprocess
import sys
from pathlib import Path

import pytest

from studio.cli import command_names, main

ROOT = Path(__file__).resolve().parents[2]

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


def test_a_chunk_of_another_scene_than_scene_is_refused(tmp_path, capsys):
    """Bug caught: `regenerate --scene A --chunk B:K` silently remade B's chunk K."""
    from studio.project.model import Scene, Script, new_project, save_project

    path = tmp_path / "p"
    save_project(new_project("p", "tiny", Script(prompt="x", scenes=[Scene(id="s1", title="a", event="a"),
                                                                      Scene(id="s2", title="b", event="b")])), path)
    before = (path / "project.json").read_bytes()
    assert main(["regenerate", str(path), "--scene", "s1", "--chunk", "s2:0"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "s2:0" in err and "--scene s1" in err
    assert (path / "project.json").read_bytes() == before
    assert main(["regenerate", str(path), "--scene", "s1", "--chunk", "s1:7"]) == 2  # the same scene twice: no contradiction
    assert "contradict" not in capsys.readouterr().err


def test_one_seed_range_on_the_command_line_the_api_and_the_page():
    """Bug caught: seeds went to 2**63-1 on the command line but 2**31-1 in the UI (and 2**32-1 for
    reference images): one constant bounds them all, and the page's number boxes say so."""
    import argparse

    from studio.cli.common import seed_argument
    from studio.errors import ValidationError
    from studio.project.model import MAX_SEED
    from studio.ui.inputs import parse_seed

    assert seed_argument(str(MAX_SEED)) == MAX_SEED == parse_seed(MAX_SEED) == 2**31 - 1
    with pytest.raises(argparse.ArgumentTypeError):
        seed_argument(str(MAX_SEED + 1))
    with pytest.raises(ValidationError):
        parse_seed(MAX_SEED + 1)
    from studio.references import stage as references
    from studio.plan import schema

    assert references.MAX_SEED == schema.MAX_SEED == MAX_SEED
    source = "".join((ROOT / "studio" / "ui" / name).read_text() for name in
                     ("generate_tab.py", "references_tab.py", "refine_tab.py"))
    assert source.count("maximum=MAX_SEED") == 3 and "2**31" not in source
