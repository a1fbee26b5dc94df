import os
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHIPPED_MODEL = REPO / "exported"

# Tests read the MNIST files beside the checkout unless told otherwise; they never download.
os.environ.setdefault("VAEPORT_DATA_ROOT", str((REPO.parent / "shared" / "data").resolve()))


def pytest_collection_modifyitems(config, items):
    """CUDA tests run when the marker expression asks for them (pytest -m cuda), and then fail
    without a usable GPU; otherwise they are skipped, so the suite passes on CPU-only machines."""
    if "cuda" in config.getoption("markexpr", ""):
        return
    skip = pytest.mark.skip(reason="needs a GPU: run with pytest -m cuda")
    for item in items:
        if item.get_closest_marker("cuda"):
            item.add_marker(skip)


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
def ort_dist() -> Path:
    """onnxruntime-web's dist/ folder as `npm ci --prefix ui` installs it at the pinned version."""
    dist = REPO / "ui" / "node_modules" / "onnxruntime-web" / "dist"
    if not dist.is_dir():
        pytest.fail(f"{dist} is missing; install the browser runtime's packages first: npm ci --prefix ui")
    return dist


@pytest.fixture(scope="session")
def api_url(vae):
    """A live demo server that runs the model on the server only, for the HTTP API tests."""
    from vaeport.benchmarks.harness import free_port
    from vaeport.ui.app import serve

    with serve(vae, port=free_port(), browser=False, block=False) as server:
        yield server.url


@pytest.fixture(scope="session")
def demo_url(vae, ort_dist):
    """A live demo server on a free loopback port, serving onnxruntime-web from the npm copy; stopped when the tests end."""
    from vaeport.benchmarks.harness import free_port
    from vaeport.ui.app import serve

    with serve(vae, port=free_port(), ort_dist=ort_dist, block=False) as server:
        yield server.url


def optimized_op_types(graph_path: Path, folder: Path) -> Counter:
    """The operators onnxruntime runs for a graph: its nodes after graph optimisation (as profiles name them)."""
    import onnx
    import onnxruntime as ort

    from vaeport.runtime.sessions import open_graph

    options = ort.SessionOptions()
    options.optimized_model_filepath = str(folder / f"{Path(graph_path).stem}.optimized.onnx")
    open_graph(graph_path, session_options=options)
    return Counter(node.op_type for node in onnx.load(options.optimized_model_filepath).graph.node)


def graph_weights(graph_path: Path) -> dict:
    """``{name: numpy array}`` of the weights stored in a graph file."""
    import onnx
    from onnx import numpy_helper

    return {t.name: numpy_helper.to_array(t) for t in onnx.load(str(graph_path)).graph.initializer}
