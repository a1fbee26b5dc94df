"""``manifest.json``: read once and checked key by key before anything uses it.

Every key that some layer of vaeport reads is checked here, with its type and shape, so a
damaged or hand-edited manifest fails when the model is loaded, with a ``ModelError`` that
names the key, instead of deep inside the demo or the benchmark.

The browser runtime (``ui/static/runtime.mjs``, ``checkManifest``) judges a manifest by the same
rules and names the same key: both run the manifests of ``tests/fixtures/manifests``. Values are
judged as JSON sees them, so ``true`` is not the number 1 here either.
"""

import base64
import json
import math
from typing import NamedTuple

import numpy as np

from vaeport.contract import DIGITS, FORMAT_VERSION, GRAPH_FILES, IMAGE_SHAPE, MANIFEST_FILE, graph_io
from vaeport.runtime.errors import ManifestMismatchError, ModelError
from vaeport.runtime.json_numbers import is_count, is_vector, json_bytes
from vaeport.runtime.latent_map import LatentMap
from vaeport.runtime.prior import Prior

EXAMPLE_PIXELS = "the test digit's 28 x 28 grey bytes, row by row"
# Keys that hold free-form records (shown by ``vaeport info``, read by training tools): objects, nothing more.
RECORDS = ("dataset", "evaluation", "quantization", "training", "versions")


class Described(NamedTuple):
    """What a checked manifest describes beyond plain values: the prior, and the latent map (None without one)."""

    prior: Prior
    latent_map: LatentMap | None


def read_manifest(folder, location: str) -> tuple[dict, Described]:
    """The manifest of the model folder ``folder`` (shown to people as ``location``), checked, and what it describes."""
    path = folder.joinpath(MANIFEST_FILE)
    if not path.is_file():
        raise ModelError(f"{MANIFEST_FILE} is missing from the model folder {location}")
    try:
        manifest = json.loads(path.read_bytes())
    except (OSError, ValueError) as error:
        raise ModelError(f"{MANIFEST_FILE} in {location} is not readable JSON ({error})") from None
    return manifest, check_manifest(manifest, f"{MANIFEST_FILE} in {location}")


def check_manifest(manifest, where: str) -> Described:
    """The model's prior and latent map, once every key of ``manifest`` is checked; else a ``ModelError``
    naming the first key that is missing or malformed.

    ``where`` names the file in messages, such as ``"manifest.json in /models/v2"``.
    """
    if not isinstance(manifest, dict) or not manifest:
        raise ModelError(f"{where} is empty or not a JSON object; expected a vaeport manifest")
    if not _same_json(manifest.get("format_version"), FORMAT_VERSION):
        raise ModelError(
            f"{where} has format_version {manifest.get('format_version')!r}; this vaeport reads format_version {FORMAT_VERSION}"
        )
    latent_dim = manifest.get("latent_dim")
    if not is_count(latent_dim):
        raise ModelError(f"{where} has latent_dim {latent_dim!r}; expected a positive whole number")
    latent_dim = manifest["latent_dim"] = int(latent_dim)  # 10.0 is 10, as the browser reads it
    if not _same_json(manifest.get("image_shape"), list(IMAGE_SHAPE)):
        raise ModelError(f"{where} has image_shape {manifest.get('image_shape')!r}; expected {list(IMAGE_SHAPE)}")
    expected_io = graph_io(latent_dim)
    if not _same_json(manifest.get("io"), expected_io):
        raise ManifestMismatchError(
            f"{where} has io {manifest.get('io')!r}; with its latent_dim {latent_dim} the contract expects {expected_io!r}"
        )
    _check_graphs(manifest.get("graphs"), where)
    _check_latent_stats(manifest.get("latent_stats"), latent_dim, where)
    _check_examples(manifest.get("examples"), latent_dim, where)
    if "metrics" in manifest:
        _check_metrics(manifest["metrics"], where)
    for key in RECORDS:
        if key in manifest and not isinstance(manifest[key], dict):
            raise ModelError(f"{where} has {key} of type {type(manifest[key]).__name__}; expected a JSON object")
    try:
        return Described(Prior.from_manifest(manifest), LatentMap.from_manifest(manifest))
    except ModelError as error:
        raise ModelError(f"{where}: {error}") from None


def example_pixels(example: dict) -> np.ndarray:
    """An example's test digit (``example["pixels"]`` of a checked manifest) as uint8 ``[28, 28]``."""
    return np.frombuffer(base64.b64decode(example["pixels"]), dtype=np.uint8).reshape(IMAGE_SHAPE[1:])


def _same_json(value, expected) -> bool:
    """Equal as JSON values: Python's ``==`` alone would take ``true`` for 1, JSON (and the browser) does not."""
    if isinstance(value, bool) or isinstance(expected, bool):
        return value is expected
    if isinstance(value, list) and isinstance(expected, list):
        return len(value) == len(expected) and all(map(_same_json, value, expected))
    if isinstance(value, dict) and isinstance(expected, dict):
        return value.keys() == expected.keys() and all(_same_json(value[key], expected[key]) for key in value)
    return type(value) not in (list, dict) and value == expected


def _check_graphs(graphs, where: str) -> None:
    """``graphs.<precision>.<role>``: the contract's file name, a hex SHA-256 and a size in bytes.

    A precision may be missing (loading it then fails, naming the ones there); one that is
    there must describe both graphs.
    """
    if not isinstance(graphs, dict) or not any(precision in graphs for precision in GRAPH_FILES):
        raise ModelError(
            f"{where} has no graphs section; expected graphs.<precision>.<role> with file, sha256 and bytes"
        )
    for precision, roles in GRAPH_FILES.items():
        if precision not in graphs:
            continue
        for role, file_name in roles.items():
            key = f"graphs.{precision}.{role}"
            entry = graphs[precision].get(role) if isinstance(graphs[precision], dict) else None
            if not isinstance(entry, dict):
                raise ModelError(f"{where} records no {key}; expected an object with file, sha256 and bytes")
            sha256 = entry.get("sha256")
            if entry.get("file") != file_name:
                raise ModelError(f'{where} has {key}.file {entry.get("file")!r}; expected "{file_name}"')
            if (
                not isinstance(sha256, str)
                or len(sha256) != 64
                or any(c not in "0123456789abcdefABCDEF" for c in sha256)
            ):
                raise ModelError(f"{where} has {key}.sha256 {sha256!r}; expected 64 hexadecimal digits")
            if not is_count(entry.get("bytes")):
                raise ModelError(
                    f"{where} has {key}.bytes {entry.get('bytes')!r}; expected the file size, a positive whole number"
                )


def _check_latent_stats(stats, latent_dim: int, where: str) -> None:
    """Per-dimension statistics of mu over the test set; ``min`` and ``max`` set the demo's slider ranges."""
    if not isinstance(stats, dict):
        raise ModelError(f"{where} has no latent_stats; expected per-dimension statistics of mu (min, max, ...)")
    for name in ("min", "max"):
        if name not in stats:
            raise ModelError(
                f"{where} has no latent_stats.{name}; expected {latent_dim} numbers, one per latent dimension"
            )
    for name, values in stats.items():
        if not is_vector(values, latent_dim):
            raise ModelError(
                f"{where} has latent_stats.{name} {_short(values)}; expected {latent_dim} finite numbers, one per latent dimension"
            )
    for index, (low, high) in enumerate(zip(stats["min"], stats["max"])):
        if low > high:
            raise ModelError(f"{where} has latent_stats.min[{index}] = {low} above latent_stats.max[{index}] = {high}")


def _check_examples(examples, latent_dim: int, where: str) -> None:
    """One test digit per class, each of ``DIGITS`` once: its ``pixels`` and its posterior's ``mu`` and ``logvar`` of length D."""
    span = f"{DIGITS[0]}-{DIGITS[-1]}"
    if not isinstance(examples, list) or len(examples) != len(DIGITS):
        raise ModelError(
            f"{where} has examples {_short(examples)}; expected a list of {len(DIGITS)}, one per digit {span}"
        )
    for index, example in enumerate(examples):
        key = f"examples[{index}]"
        if not isinstance(example, dict):
            raise ModelError(f"{where} has {key} {_short(example)}; expected an object with digit, mu and logvar")
        digit = example.get("digit")
        if isinstance(digit, bool) or digit not in DIGITS:
            raise ModelError(f"{where} has {key}.digit {_short(digit)}; expected a digit {span}")
        for name in ("mu", "logvar"):
            if not is_vector(example.get(name), latent_dim):
                raise ModelError(
                    f"{where} has {key}.{name} {_short(example.get(name))}; expected {latent_dim} finite numbers"
                )
        try:
            json_bytes(example.get("pixels"), f"{key}.pixels", math.prod(IMAGE_SHAPE), EXAMPLE_PIXELS)
        except ModelError as error:
            raise ModelError(
                f"{where}: {error}; vaeport derive MODEL_DIR writes them into an older model folder"
            ) from None
    digits = [example["digit"] for example in examples]
    if sorted(digits) != list(DIGITS):
        raise ModelError(f"{where} has examples of digits {digits}; expected each digit {span} once")


def _check_metrics(metrics, where: str) -> None:
    """Test-set figures per precision: ``metrics.<precision>.<name>`` numbers (the key may be left out)."""
    if not isinstance(metrics, dict) or not metrics:
        raise ModelError(f"{where} has metrics {_short(metrics)}; expected an object of figures per precision")
    for precision, values in metrics.items():
        if not isinstance(values, dict) or not is_vector(list(values.values()), len(values)):
            raise ModelError(f"{where} has metrics.{precision} {_short(values)}; expected an object of finite numbers")


def _short(value) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
