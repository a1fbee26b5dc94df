"""A model folder: where it is, its manifest, and its graphs checked against both.

Graphs are read into memory, hashed, and handed to onnxruntime as those same bytes, so the
bytes that run are the bytes whose SHA-256 was checked.
"""

import hashlib
import os
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from vaeport.contract import BATCH_DIM, GRAPH_FILES, MANIFEST_FILE, PRECISIONS, graph_io
from vaeport.runtime.errors import InputError, ManifestMismatchError, ModelError, ModelIntegrityError
from vaeport.runtime.latent_map import LatentMap
from vaeport.runtime.manifest import read_manifest
from vaeport.runtime.prior import Prior

SHIPPED_MODEL_PACKAGE = "vaeport.exported"


@dataclass(frozen=True)
class ModelFiles:
    """A verified model: its folder, its manifest, the prior and latent map it describes and
    ``{role: (file name, bytes)}`` of one precision."""

    location: str
    manifest: dict
    prior: Prior
    latent_map: LatentMap | None
    graphs: dict[str, tuple[str, bytes]]


def _folder(model_dir):
    if model_dir is None:
        return files(SHIPPED_MODEL_PACKAGE)
    if not isinstance(model_dir, (str, os.PathLike)):
        raise InputError(
            f"model_dir must be a folder path (str or pathlib.Path) or None; got {type(model_dir).__name__}"
        )
    folder = Path(model_dir).expanduser()
    if not folder.is_dir():
        what = "is a file" if folder.exists() else "does not exist"
        raise ModelError(
            f"the model folder {folder} {what}; expected a folder holding {MANIFEST_FILE} and the .onnx graphs"
        )
    return folder


def read_graph(folder, location: str, manifest: dict, precision: str, role: str) -> tuple[str, bytes]:
    """``(file name, bytes)`` of one graph of ``folder``, its SHA-256 checked against ``manifest``."""
    file_name = GRAPH_FILES[precision][role]
    if precision not in manifest["graphs"]:
        raise ModelError(
            f"{MANIFEST_FILE} in {location} records no graphs.{precision}.{role}; "
            f"it lists precisions {sorted(manifest['graphs'])}"
        )
    recorded = manifest["graphs"][precision][role]["sha256"]
    path = folder.joinpath(file_name)
    if not path.is_file():
        raise ModelError(f"{file_name} is missing from the model folder {location}")
    model = path.read_bytes()
    actual = hashlib.sha256(model).hexdigest()
    if actual != recorded.lower():
        raise ModelIntegrityError(
            f"{file_name} in {location} has SHA-256 {actual}, but {MANIFEST_FILE} records {recorded}: "
            "the file was changed or damaged after export; export or install the model again"
        )
    return file_name, model


def read_model(model_dir, precision: str) -> ModelFiles:
    """The manifest and the SHA-256-checked graphs of ``precision`` from ``model_dir`` (None: the shipped model)."""
    if precision not in PRECISIONS:
        raise InputError(f"precision must be one of {list(PRECISIONS)}; got {precision!r}")
    folder = _folder(model_dir)
    location = str(folder)
    manifest, described = read_manifest(folder, location)
    graphs = {role: read_graph(folder, location, manifest, precision, role) for role in GRAPH_FILES[precision]}
    return ModelFiles(location, manifest, described.prior, described.latent_map, graphs)


def _shape_matches(actual: list, expected: list) -> bool:
    """Fixed dimensions must be equal; the batch dimension must be symbolic (any name) so batches of any size run."""
    return len(actual) == len(expected) and all(
        not isinstance(a, int) if e == BATCH_DIM else a == e for a, e in zip(actual, expected)
    )


def check_graph(session, role: str, file_name: str, manifest: dict) -> None:
    """A session's inputs, outputs and metadata must match the manifest: names, dtypes, shapes, latent size."""
    expected = graph_io(manifest["latent_dim"])[role]
    for kind, declared in (("inputs", session.get_inputs()), ("outputs", session.get_outputs())):
        names = [arg.name for arg in declared]
        if names != list(expected[kind]):
            raise ManifestMismatchError(
                f"{file_name} has {kind} {names}; the manifest and the ONNX contract expect {list(expected[kind])}"
            )
        for arg in declared:
            want = expected[kind][arg.name]
            if arg.type != "tensor(float)" or not _shape_matches(list(arg.shape), want):
                raise ManifestMismatchError(
                    f"{file_name} {kind[:-1]} {arg.name!r} is {arg.type} {list(arg.shape)}; expected tensor(float) {want} "
                    f"(latent_dim {manifest['latent_dim']} from {MANIFEST_FILE}, a symbolic batch dimension)"
                )
    exported_with = session.get_modelmeta().custom_metadata_map.get("latent_dim")
    if exported_with is not None and exported_with.strip() != str(manifest["latent_dim"]):
        raise ManifestMismatchError(
            f"{file_name} was exported with latent_dim {exported_with} (its metadata), "
            f"but {MANIFEST_FILE} says {manifest['latent_dim']}"
        )
