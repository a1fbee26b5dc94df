"""A model folder: where it is, its manifest, and its graphs checked against both.

Graphs are read into memory, hashed, and handed to onnxruntime as those same bytes, so the
bytes that run are the bytes whose SHA-256 was checked.
"""

import hashlib
import json
import os
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from vaeport.contract import (
    BATCH_DIM,
    FORMAT_VERSION,
    GRAPH_FILES,
    IMAGE_SHAPE,
    MANIFEST_FILE,
    PRECISIONS,
    graph_io,
)
from vaeport.runtime.errors import InputError, ManifestMismatchError, ModelError, ModelIntegrityError

SHIPPED_MODEL_PACKAGE = "vaeport.exported"


@dataclass(frozen=True)
class ModelFiles:
    """A verified model: its folder, its manifest and ``{role: (file name, bytes)}`` of one precision."""

    location: str
    manifest: dict
    graphs: dict[str, tuple[str, bytes]]


def _folder(model_dir):
    if model_dir is None:
        return files(SHIPPED_MODEL_PACKAGE)
    if not isinstance(model_dir, (str, os.PathLike)):
        raise InputError(f"model_dir must be a folder path (str or pathlib.Path) or None; got {type(model_dir).__name__}")
    folder = Path(model_dir).expanduser()
    if not folder.is_dir():
        what = "is a file" if folder.exists() else "does not exist"
        raise ModelError(f"the model folder {folder} {what}; expected a folder holding {MANIFEST_FILE} and the .onnx graphs")
    return folder


def _read_manifest(folder, location: str) -> dict:
    path = folder.joinpath(MANIFEST_FILE)
    if not path.is_file():
        raise ModelError(f"{MANIFEST_FILE} is missing from the model folder {location}")
    try:
        manifest = json.loads(path.read_bytes())
    except (OSError, ValueError) as error:
        raise ModelError(f"{MANIFEST_FILE} in {location} is not readable JSON ({error})") from None
    if not isinstance(manifest, dict) or not manifest:
        raise ModelError(f"{MANIFEST_FILE} in {location} is empty or not a JSON object; expected a vaeport manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelError(
            f"{MANIFEST_FILE} in {location} has format_version {manifest.get('format_version')!r}; "
            f"this vaeport reads format_version {FORMAT_VERSION}"
        )
    latent_dim = manifest.get("latent_dim")
    if isinstance(latent_dim, bool) or not isinstance(latent_dim, int) or latent_dim < 1:
        raise ModelError(f"{MANIFEST_FILE} in {location} has latent_dim {latent_dim!r}; expected a positive whole number")
    if manifest.get("image_shape") != list(IMAGE_SHAPE):
        raise ModelError(
            f"{MANIFEST_FILE} in {location} has image_shape {manifest.get('image_shape')!r}; expected {list(IMAGE_SHAPE)}"
        )
    return manifest


def _read_graph(folder, location: str, manifest: dict, precision: str, role: str) -> tuple[str, bytes]:
    file_name = GRAPH_FILES[precision][role]
    entry = manifest.get("graphs", {}).get(precision, {}).get(role, {})
    recorded = entry.get("sha256") if isinstance(entry, dict) else None
    if not isinstance(recorded, str) or entry.get("file") != file_name:
        raise ModelError(
            f'{MANIFEST_FILE} in {location} records no graphs.{precision}.{role} with "file": "{file_name}" '
            f"and its sha256; it lists precisions {sorted(manifest.get('graphs', {}))}"
        )
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
    manifest = _read_manifest(folder, location)
    graphs = {role: _read_graph(folder, location, manifest, precision, role) for role in GRAPH_FILES[precision]}
    return ModelFiles(location, manifest, graphs)


def _shape_matches(actual: list, expected: list) -> bool:
    """Fixed dimensions must be equal; the batch dimension must be symbolic (any name) so batches of any size run."""
    return len(actual) == len(expected) and all(
        not isinstance(a, int) if e == BATCH_DIM else a == e for a, e in zip(actual, expected)
    )


def check_manifest_io(manifest: dict, location: str) -> None:
    """The manifest's ``io`` section must agree with its ``latent_dim`` and the contract."""
    expected = graph_io(manifest["latent_dim"])
    if manifest.get("io") != expected:
        raise ManifestMismatchError(
            f"{MANIFEST_FILE} in {location} has io {manifest.get('io')!r}; with its latent_dim "
            f"{manifest['latent_dim']} the contract expects {expected!r}"
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
