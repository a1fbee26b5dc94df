"""The `vaeport` command as a user without every extra meets it."""

import subprocess
import sys

import pytest

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


def test_help_lists_every_command():
    result = subprocess.run([sys.executable, "-m", "vaeport", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for command in ("train", "export", "evaluate", "info", "demo", "bench"):
        assert command in result.stdout


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
