"""The `vaeport` command as a user without every extra meets it."""

import dataclasses
import os
import re
import subprocess
import sys

import pytest

from vaeport.cli import COMMAND_EXTRAS, build_parser

COMMANDS = {"demo", "web", "info", "train", "export", "derive", "evaluate", "bench"}
# Options of `vaeport train` that say where to read and write rather than how to train.
TRAIN_RUN_OPTIONS = {"out", "data_root", "no_download"}

BLOCK_IMPORT = """
import builtins, sys
real_import = builtins.__import__
def blocked(name, *args, **kwargs):
    if name.split(".")[0] == {library!r}:
        raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
    return real_import(name, *args, **kwargs)
builtins.__import__ = blocked
from vaeport.cli import main
sys.exit(main({argv!r}))
"""


def test_help_lists_exactly_the_commands():
    result = subprocess.run(
        [sys.executable, "-m", "vaeport", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0
    assert sorted(re.findall(r"^ {4}(\S+) {2,}", result.stdout, re.MULTILINE)) == sorted(COMMANDS)
    assert set(COMMAND_EXTRAS) == COMMANDS


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["export", "--help"]])
def test_help_never_imports_torch(argv):
    script = BLOCK_IMPORT.format(library="torch", argv=argv)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "usage: vaeport" in result.stdout


def test_the_browser_downloads_int8_graphs_by_default_whatever_the_server_runs():
    demo = build_parser().parse_args(["demo"])
    assert (demo.precision, demo.browser_precision) == ("fp32", "int8")
    assert build_parser().parse_args(["demo", "--browser-precision", "fp32"]).browser_precision == "fp32"
    assert build_parser().parse_args(["web", "site"]).precision == "int8"


def test_train_has_one_option_per_train_config_field():
    from vaeport.training.config import TrainConfig

    given = vars(build_parser().parse_args(["train"])).keys() - {"command", "handler"}
    assert given - TRAIN_RUN_OPTIONS == {field.name for field in dataclasses.fields(TrainConfig)}


@pytest.mark.parametrize(
    "library, argv, extra",
    [
        ("torch", ["train", "--epochs", "1"], "train"),
        ("gradio", ["demo", "--port", "7999"], "ui"),
        ("matplotlib", ["bench", "--quick"], "bench"),
    ],
)
def test_a_missing_extra_is_named_instead_of_a_traceback(library, argv, extra, tmp_path):
    script = BLOCK_IMPORT.format(
        library=library, argv=[*argv, *(["--out", str(tmp_path / "out")] if argv[0] != "demo" else [])]
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert f'needs {library}, which is not installed: pip install "vaeport[{extra}]"' in result.stderr
    assert "Traceback" not in result.stderr
