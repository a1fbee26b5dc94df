import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHIPPED_MODEL = REPO / "exported"

# Tests read the MNIST files beside the checkout unless told otherwise; they never download.
os.environ.setdefault("VAEPORT_DATA_ROOT", str((REPO.parent / "shared" / "data").resolve()))


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = Path(os.environ["VAEPORT_DATA_ROOT"])
    if not (root / "MNIST" / "raw" / "t10k-images-idx3-ubyte").is_file():
        pytest.fail(f"MNIST is not in {root}/MNIST/raw; set VAEPORT_DATA_ROOT to a folder that holds it")
    return root


@pytest.fixture(scope="session")
def vae():
    """The shipped model on the CPU, one thread per call, shared by every test that only reads it."""
    from vaeport.runtime import VAERuntime

    return VAERuntime.load(device="cpu", threads=1)


@pytest.fixture(scope="session")
def demo_url(vae):
    """A live demo server on a free loopback port, stopped when the tests end."""
    from vaeport.ui.app import running_demo

    with running_demo(vae) as url:
        yield url
