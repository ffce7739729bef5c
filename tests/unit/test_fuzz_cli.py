"""Hostile command lines: whatever the arguments, `python -m studio` exits 0 or 2 with at most one error line.

argv is built from the real command names and flags with random values. The slow paths never run:
`run` and `bench` only get argument lists that argparse refuses, and `refs`, `generate`, `refine`
only meet projects that cannot be opened (missing, a file, corrupt) or a real project with a preset
that does not load. `plan`, `regenerate`, `export` and `eval` run for real where their values are good.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from studio.cli import build_parser, command_names, main

COMMANDS = command_names()
from studio.project.model import MAX_PROMPT_CHARS

# What an OS can put in argv: no NUL byte, no lone surrogate.
CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
words = st.text(CHARS, max_size=24)
numbers = st.integers(-10**6, 10**6).map(str)
junk_numbers = st.sampled_from(["", "nan", "inf", "-0", "1e9", "0x10", "3.5", "½", "١٢", "¹", "²³", "9" * 40, "--", "-"])
int_values = st.integers(-2, 30).map(str) | numbers | junk_numbers
float_values = st.floats(allow_nan=True, allow_infinity=True).map(repr) | int_values

SLOW = {"run", "bench"}
PROJECT_COMMANDS = ("references", "refs", "generate", "regenerate", "takes", "refine", "export")
PROJECT_KINDS = ("missing", "file", "corrupt", "empty-dir", "planned")
# The real project may only meet commands that fail fast or do cheap real work.
SAFE_ON_PLANNED = {"regenerate", "export"}
PROMPT = "A fox runs through the snow. An owl watches it."


def flag_values(flag: str):
    return {
        "--scenes": int_values, "--chunks": int_values, "--chunk": int_values, "--seed": int_values,
        "--steps": int_values, "--strength": float_values,
        "--planner": st.sampled_from(["rules", "rules", "rules", "remote", "", "RULES", "local;rm"]) | words,
        "--mode": st.sampled_from(["randomized", "shared-noise", "naive", "", "fast"]) | words,
        "--scene": st.sampled_from(["scene-1", "scene-9", "../scene-1", ""]) | words,
        "--entity": st.sampled_from(["fox", "nobody", "../fox"]) | words,
        "--prompt": words, "--use": int_values, "--remove": int_values,
    }.get(flag, words)


@st.composite
def command_lines(draw):
    """(argv template, project kind, preset kind); {tmp} in an argument is the example's own folder."""
    command = draw(st.sampled_from(sorted(COMMANDS)))
    preset_kind = draw(st.sampled_from(["tiny", "tiny", "unknown", "garbage-yaml", "none"]))
    argv: list[str] = [command]
    project_kind = None
    if command == "plan":
        argv.append(draw(st.sampled_from([PROMPT, PROMPT, "", " ", "x" * (MAX_PROMPT_CHARS + 1)]) | st.text(CHARS, max_size=200)))
        argv += ["--project", draw(st.sampled_from(["{tmp}/new", "{tmp}/file", "{tmp}/nested/deeper/p", "{tmp}/planned"]))]
        flags = ["--planner", "--scenes"]
    elif command in PROJECT_COMMANDS:
        project_kind = draw(st.sampled_from(PROJECT_KINDS))
        argv.append(f"{{tmp}}/{project_kind}")
        flags = {"references": ["--entity", "--seed"], "refs": ["--entity", "--seed"], "generate": ["--scene", "--chunks"],
                 "regenerate": ["--scene", "--chunk", "--seed", "--prompt"], "takes": ["--use", "--remove"],
                 "refine": ["--scene", "--mode", "--seed", "--strength"], "export": []}[command]
        if command in ("regenerate", "takes"):
            argv += ["--scene", draw(flag_values("--scene")), "--chunk", draw(int_values)]
        if command == "export":
            argv += draw(st.lists(st.sampled_from([["-o", "{tmp}/out.mp4"], ["--archive", "{tmp}/a.zip"],
                                                   ["-o", "{tmp}/file"], ["--archive", "{tmp}/missing/x/a.zip"]]),
                                  max_size=2).map(lambda pairs: [a for pair in pairs for a in pair]))
    elif command == "eval":
        argv.append(draw(st.sampled_from(["{tmp}/missing.mp4", "{tmp}/file", "{tmp}/garbage.mp4", "{tmp}",
                                          "{tmp}/corrupt/project.json"])))
        flags = ["--prompt"]
        if draw(st.booleans()):
            argv.append("--json")
    else:  # run, bench: only lines argparse refuses (so they never start)
        flags = ["--chunks", "--steps"] if command == "bench" else ["--scenes", "--chunks", "--planner"]
        argv += draw(st.sampled_from([["--chunks", "many"], ["--steps", "1.5"], ["--unknown-flag"], ["--preset"]]))
    for flag in draw(st.lists(st.sampled_from(flags), max_size=3, unique=True)) if flags else []:
        argv += [flag, draw(flag_values(flag))]
    if draw(st.booleans()):
        argv.insert(0, "-v")
    if preset_kind != "none":
        argv += ["--preset", {"tiny": "tiny", "unknown": draw(words) or "nope",
                              "garbage-yaml": "{tmp}/bad.yaml"}[preset_kind]]
    if draw(st.integers(0, 9)) == 0:  # now and then, a stray token or flag somewhere
        argv.insert(draw(st.integers(0, len(argv))), draw(st.sampled_from(["--nope", "-x", "extra"]) | words))
    return argv, project_kind, preset_kind


def make_folder(root: Path, yaml_text: str, corrupt: bytes) -> None:
    """The example's folder: a planned project, a corrupt one, a file, an empty dir and a garbage preset."""
    assert main(["plan", PROMPT, "--project", str(root / "planned"), "--preset", "tiny"]) == 0
    (root / "file").write_text("not a project")
    (root / "corrupt").mkdir()
    (root / "corrupt" / "project.json").write_bytes(corrupt)
    (root / "empty-dir").mkdir()
    (root / "garbage.mp4").write_bytes(corrupt or b"\x00\x00\x00\x18ftypmp42")
    (root / "bad.yaml").write_text(yaml_text, encoding="utf-8")


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".project.lock"}  # the empty lock file is no change


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse: 2 for a bad line, 0 for --help
            code = exit_.code
    return code, out.getvalue(), err.getvalue()


def is_slow(argv: list[str], project_kind: str | None, preset_kind: str) -> bool:
    """True when this line could start real work we keep out of a unit test."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit:
        return False  # argparse refuses it: nothing runs
    if args.command in SLOW:
        return True
    if args.command in ("references", "refs", "generate", "refine") and project_kind == "planned":
        return preset_kind in ("tiny", "none")  # these presets load: the stage would run
    return False


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(command_lines(), st.text(CHARS, max_size=80), st.binary(max_size=64))
def test_random_command_lines_exit_0_or_2_with_one_error_line(line, yaml_text, corrupt):
    template, project_kind, preset_kind = line
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_folder(root, yaml_text, corrupt)
        argv = [arg.replace("{tmp}", tmp) for arg in template]
        if is_slow(argv, project_kind, preset_kind):
            event("skipped: would start real work")
            return
        before = snapshot(root / "planned")
        code, out, err = run_cli(argv)
        event(f"{next((a for a in argv if a in COMMANDS), '?')} exit {code}")
        assert code in (0, 2), (argv, code, err)
        lines = [line for line in err.split("\n") if line.strip()]  # a terminal breaks lines at \n only
        if code == 2:
            errors = [line for line in lines if "error:" in line]
            assert len(errors) == 1, (argv, err)  # argparse adds its usage lines above its one error line
            assert lines[-1] == errors[0]
            if errors[0].startswith("error:"):  # the studio's own errors: that one line and nothing else
                assert lines == errors, (argv, err)
            assert "Traceback" not in err
            # A refused command leaves an existing project as it was.
            if "--project" not in argv or argv[argv.index("--project") + 1] != f"{tmp}/planned":
                assert snapshot(root / "planned") == before, argv
        else:
            assert "Traceback" not in err and "error:" not in err, (argv, err)


def test_the_fuzzer_reaches_every_command():
    """The strategy is worth its examples: it draws every command, and lines argparse refuses too."""
    from hypothesis import find

    search = settings(max_examples=2000, database=None)
    for command in COMMANDS:
        find(command_lines(), lambda line, command=command: command in line[0], settings=search)
    find(command_lines(), lambda line: line[0][0] == "-v" and "--nope" in line[0], settings=search)


def test_a_project_path_through_a_file_is_one_line(tmp_path):
    """Found by the fuzzer: a --project that is (or runs through) a file crashed with a traceback."""
    (tmp_path / "file").write_text("x")
    for project in (tmp_path / "file", tmp_path / "file" / "p"):
        code, _, err = run_cli(["plan", PROMPT, "--project", str(project), "--preset", "tiny"])
        assert code == 2 and err.startswith("error:") and err.count("\n") == 1, err
        assert str(tmp_path / "file") in err
    assert (tmp_path / "file").read_text() == "x"


def test_a_superscript_digit_in_a_prompt_is_planned(tmp_path):
    """Found by the fuzzer: "¹" passes str.isdigit() but int() refuses it, and planning crashed."""
    for number, prompt in enumerate(["¹", "² foxes run", "a fox and ³ owls", "٣ foxes run"]):
        code, _, err = run_cli(["plan", prompt, "--project", str(tmp_path / f"p{number}"), "--preset", "tiny"])
        assert code in (0, 2) and "Traceback" not in err, (prompt, err)
        assert code == 0 or err.startswith("error:") and err.count("\n") == 1, (prompt, err)
