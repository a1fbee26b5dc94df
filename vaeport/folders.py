"""Replacing a folder all at once: a reader sees the old folder or the new one, never a mix of the
two (between two renames, for an instant, the folder is absent)."""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path


@contextlib.contextmanager
def replacing_folder(target: Path, keep=lambda name: True):
    """Yield an empty staging folder beside ``target``; when the block ends without an error, the
    staging folder takes ``target``'s place, else it is removed and ``target`` stays as it was.

    Entries of the old ``target`` that the new one does not have (a CNAME, an ``__init__.py``) are
    kept where ``keep(name)`` says so.
    """
    target = Path(target).resolve()
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(f"{target} is a file; expected a folder, or a path that does not exist yet")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.staging-", dir=target.parent))
    staging.chmod(0o755)
    try:
        yield staging
        _swap(staging, target, keep)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _swap(staging: Path, target: Path, keep) -> None:
    if not target.exists():
        os.rename(staging, target)
        return
    for entry in target.iterdir():
        if not (staging / entry.name).exists() and keep(entry.name):
            (shutil.copytree if entry.is_dir() else shutil.copy2)(entry, staging / entry.name)
    retired = target.with_name(f".{target.name}.old-{os.getpid()}")
    os.rename(target, retired)
    os.rename(staging, target)
    shutil.rmtree(retired)
