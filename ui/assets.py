"""The files a page needs to run the model in the visitor's browser, laid out in one folder.

    vaeport/           the page's modules (demo.mjs starts it, runtime.mjs is the browser runtime) and demo.css
    model/             manifest.json (the page's latent map reads it, whichever engine runs) and, when the
                       model runs in the browser, the graphs of one precision, the bytes the Python runtime verified
    onnxruntime-web/   ort.wasm.bundle.min.mjs and its .wasm, when a local copy is served

``vaeport demo`` serves such a folder beside its Gradio page; ``vaeport web`` writes one, with an
``index.html``, as a static site. Without a local copy, the page fetches onnxruntime-web from a
public CDN at the version pinned in ``static/ort-web.json``, checked against the pinned hashes.
"""

import base64
import hashlib
import json
import shutil
from importlib.resources import files
from pathlib import Path

from vaeport.contract import MANIFEST_FILE
from vaeport.ui.errors import OrtWebError

STATIC = files("vaeport.ui") / "static"
PAGE_ENTRY = "demo.mjs"  # the module whose start() builds the page
PAGE_FILES = tuple(sorted(item.name for item in STATIC.iterdir() if item.name.endswith((".mjs", ".css"))))
PAGE_FOLDER, MODEL_FOLDER, ORT_FOLDER = "vaeport/", "model/", "onnxruntime-web/"
ORT_WEB = json.loads(STATIC.joinpath("ort-web.json").read_text())


def subresource_integrity(data: bytes) -> str:
    """The ``sha384-...`` form a browser checks downloads against (Subresource Integrity)."""
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")


def manifest_text(manifest: dict) -> str:
    """The manifest as the page gets it: compact JSON. The checked manifest holds only finite numbers, so
    it is JSON any browser parses."""
    return json.dumps(manifest, separators=(",", ":"), allow_nan=False) + "\n"


def check_ort_dist(folder) -> Path:
    """``folder`` if it holds onnxruntime-web's two wasm files at the pinned version, else an ``OrtWebError``."""
    folder = Path(folder).expanduser()
    how = (
        f"point --ort-web at the dist/ folder of onnxruntime-web {ORT_WEB['version']} "
        f"(npm install onnxruntime-web@{ORT_WEB['version']}: node_modules/onnxruntime-web/dist)"
    )
    if not folder.is_dir():
        raise OrtWebError(f"--ort-web {folder} is not a folder; {how}")
    for part in ("module", "wasm"):
        path = folder / ORT_WEB[part]["file"]
        if not path.is_file():
            raise OrtWebError(f"{path} is missing; {how}")
        if subresource_integrity(path.read_bytes()) != ORT_WEB[part]["integrity"]:
            raise OrtWebError(
                f"{path} is not the file of onnxruntime-web {ORT_WEB['version']} (its SHA-384 differs); {how}"
            )
    return folder


def write_assets(
    folder: Path, runtime, browser: bool = True, ort_dist: Path | None = None, browser_precision: str | None = None
) -> dict:
    """Write the page's files into ``folder`` and, when the model runs in the ``browser``, ``runtime``'s
    model at ``browser_precision`` (None: the runtime's) and (from ``ort_dist``, else the CDN at run
    time) onnxruntime-web.

    Returns the page's configuration of where things are, URLs relative to ``folder``: ``page``, the
    module that starts the demo, ``manifest``, and ``browser``, None when the model runs on the server only.
    """
    pages = folder / PAGE_FOLDER
    pages.mkdir(parents=True)
    for name in PAGE_FILES:
        (pages / name).write_bytes(STATIC.joinpath(name).read_bytes())
    model = folder / MODEL_FOLDER
    model.mkdir()
    (model / MANIFEST_FILE).write_text(manifest_text(runtime.manifest))
    located = {"page": PAGE_FOLDER + PAGE_ENTRY, "manifest": MODEL_FOLDER + MANIFEST_FILE, "browser": None}
    if not browser:
        return located
    precision = browser_precision or runtime.precision
    graphs = runtime.read_graphs(precision)
    for name, data in graphs.items():
        (model / name).write_bytes(data)
    ort = {key: ORT_WEB[key] for key in ("version", "module", "wasm")}
    if ort_dist is None:
        ort["base"] = ORT_WEB["cdn"]
    else:
        (folder / ORT_FOLDER).mkdir()
        for part in ("module", "wasm"):
            shutil.copyfile(Path(ort_dist) / ORT_WEB[part]["file"], folder / ORT_FOLDER / ORT_WEB[part]["file"])
        ort["base"] = ORT_FOLDER
    located["browser"] = {
        "precision": precision,
        "model": {
            "folder": MODEL_FOLDER,
            "manifest": MANIFEST_FILE,
            "graphs": {name: len(data) for name, data in graphs.items()},
        },
        "ort": ort,
    }
    return located
