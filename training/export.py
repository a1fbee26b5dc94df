"""Export a checkpoint to the ONNX contract: two fp32 graphs, their int8 variants and manifest.json.

A learned prior becomes the manifest's ``prior`` section, a mixture of diagonal Gaussians: a
mixture prior's own weights, means and log-variances, or a VampPrior's pseudo-inputs encoded by
the exported fp32 encoder graph (equal weights). The standard normal writes no section.

Everything is written into a staging folder beside the target and checked there (ONNX
checker, parity with PyTorch, metrics measured on the graphs themselves); only a model
that passed every check replaces the previous one, so a model folder is never half-written.
"""

import base64
import json
import platform
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

import vaeport
from vaeport.contract import (
    BATCH_DIM,
    DECODER_INPUT,
    DECODER_OUTPUT,
    DIGITS,
    ENCODER_INPUT,
    ENCODER_OUTPUTS,
    FORMAT_VERSION,
    GRAPH_FILES,
    IMAGE_SHAPE,
    MANIFEST_FILE,
    graph_io,
    sha256_file,
)
from vaeport.errors import VaeportError
from vaeport.folders import replacing_folder
from vaeport.runtime.manifest import check_manifest
from vaeport.runtime.model_files import read_graph
from vaeport.runtime.prior import Prior
from vaeport.runtime.sessions import open_graph
from vaeport.training.checkpoint import load_checkpoint
from vaeport.training.data import load_mnist
from vaeport.training.errors import ExportError, ModelFolderError
from vaeport.training.evaluate import EVAL_SEED, evaluate_graphs, load_test_digits
from vaeport.training.latent_map import map_section
from vaeport.training.model import DecoderProbabilities
from vaeport.training.prior import describe_prior
from vaeport.training.quantize import calibration_digits, quantize_model

PARITY_BATCHES = (1, 7, 1024)
PARITY_RTOL, PARITY_ATOL = 1e-5, 1e-6


def _export_graph(module: torch.nn.Module, example: torch.Tensor, path: Path, input_name: str, output_names) -> None:
    batch = torch.export.Dim(BATCH_DIM, min=1)
    torch.onnx.export(
        module,
        (example,),
        str(path),
        dynamo=True,
        verbose=False,
        input_names=[input_name],
        output_names=list(output_names),
        dynamic_shapes=({0: batch},),
        external_data=False,
        optimize=True,
    )
    onnx.checker.check_model(str(path), full_check=True)


def _check_parity(module: torch.nn.Module, path: Path, input_name: str, make_input) -> None:
    """The graph must compute what PyTorch computes, at several batch sizes.

    The absolute tolerance scales with the largest output (when above 1): the graph sums in
    another order than PyTorch, and float32 rounding grows with the size of what is summed.
    """
    session = open_graph(path)
    for batch in PARITY_BATCHES:
        example = make_input(batch)
        with torch.no_grad():
            expected = module(example)
        expected = expected if isinstance(expected, tuple) else (expected,)
        got = session.run(None, {input_name: example.numpy()})
        for output, reference, actual in zip(session.get_outputs(), expected, got):
            reference = reference.numpy()
            atol = PARITY_ATOL * max(1.0, float(np.abs(reference).max()))
            if actual.shape != reference.shape or not np.allclose(actual, reference, PARITY_RTOL, atol):
                error = np.abs(actual - reference).max() if actual.shape == reference.shape else "shape"
                raise ExportError(
                    f"{path.name} output {output.name!r} differs from PyTorch at batch {batch} "
                    f"(max abs error {error}; allowed rtol {PARITY_RTOL}, atol {atol:.3g})"
                )


def _pick_examples(images: np.ndarray, mu: np.ndarray, logvar: np.ndarray, labels: np.ndarray) -> list[dict]:
    """One test digit per class: the one whose mu is nearest the class's mean mu (a typical digit),
    with its pixels (``images`` in [0, 1] are MNIST's bytes / 255, so the bytes come back exactly)."""
    examples = []
    for digit in DIGITS:
        indices = np.flatnonzero(labels == digit)
        if len(indices) == 0:
            raise ExportError(f"the test digits used hold no {digit}; use more test digits (a larger --test-limit)")
        centre = mu[indices].mean(axis=0)
        best = indices[np.argmin(((mu[indices] - centre) ** 2).sum(axis=1))]
        pixels = np.rint(images[best].reshape(-1) * 255).astype(np.uint8)
        examples.append(
            {
                "digit": digit,
                "test_index": int(best),
                "pixels": base64.b64encode(pixels.tobytes()).decode("ascii"),
                "mu": mu[best].tolist(),
                "logvar": logvar[best].tolist(),
            }
        )
    return examples


def _latent_stats(mu: np.ndarray) -> dict:
    return {
        "mean": mu.mean(axis=0).tolist(),
        "std": mu.std(axis=0).tolist(),
        "min": mu.min(axis=0).tolist(),
        "max": mu.max(axis=0).tolist(),
        "p01": np.percentile(mu, 1, axis=0).tolist(),
        "p99": np.percentile(mu, 99, axis=0).tolist(),
    }


def _prior(model, config, encoder_graph: Path) -> Prior | None:
    """The learned prior as the manifest will describe it; None for N(0, I)."""
    if model.prior is None:
        return None
    description = describe_prior(config.prior, config.prior_components)
    if config.prior == "vamp":
        with torch.no_grad():
            pseudo_inputs = model.prior.images().numpy()
        means, logvars = open_graph(encoder_graph).run(None, {ENCODER_INPUT: pseudo_inputs})
        weights = np.full(len(means), 1.0 / len(means))
    else:
        with torch.no_grad():
            log_weights, means, logvars = (t.double().numpy() for t in model.prior_mixture())
        weights = np.exp(log_weights)
    section = Prior(weights, means, logvars, description).to_manifest()
    return Prior.from_manifest(
        {"latent_dim": config.latent_dim, "prior": section}
    )  # checked as a runtime will check it


# Manifest keys a graph does not carry: the file hashes (a file cannot hold its own hash), and the
# latent map, whose 10,000 points would add more to each graph than its int8 decoder's weights.
UNSTAMPED_KEYS = ("graphs", "map")


def _stamp_metadata(path: Path, manifest: dict) -> None:
    """Every manifest key but ``UNSTAMPED_KEYS`` as metadata_props."""
    model = onnx.load(str(path))
    del model.metadata_props[:]
    for key, value in manifest.items():
        if key not in UNSTAMPED_KEYS:
            model.metadata_props.add(key=key, value=json.dumps(value))
    onnx.save(model, str(path))


def _tool_versions() -> dict:
    """The versions that wrote what ``_derive`` writes."""
    return {"vaeport": vaeport.__version__, "onnx": onnx.__version__, "onnxruntime": ort.__version__}


def _stamp_and_hash(manifest: dict, paths: dict[str, dict[str, Path]]) -> None:
    """Stamp every graph of ``paths`` (``{precision: {part: path}}``) with ``manifest``, then record
    each one's file name, SHA-256 and size under ``manifest["graphs"]``."""
    for files in paths.values():
        for path in files.values():
            _stamp_metadata(path, manifest)
    manifest["graphs"] = {
        precision: {
            part: {"file": path.name, "sha256": sha256_file(path), "bytes": path.stat().st_size}
            for part, path in files.items()
        }
        for precision, files in paths.items()
    }


def export(
    checkpoint: Path, out_dir: Path, data_root=None, download: bool = True, test_limit: int | None = None
) -> dict:
    """Export, check and measure; returns the manifest that was written to ``out_dir``."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ExportError(
            f"the output folder {out_dir} is a file; expected a folder (or a path that does not exist yet)"
        )
    model, state = load_checkpoint(checkpoint)
    config = state["config"]
    images, labels = load_mnist(data_root, train=False, download=download, limit=test_limit)
    digits = calibration_digits(data_root, download=download)  # training digits the int8 graphs are calibrated on

    try:
        with replacing_folder(out_dir) as staging:  # files of the old folder that are not part of a model are kept
            manifest = _write_model(staging, model, config, state, images, labels, digits)
    except VaeportError:
        raise
    except Exception as error:
        raise ExportError(f"export failed and {out_dir} was left as it was: {type(error).__name__}: {error}") from error
    fp32, int8 = manifest["metrics"]["fp32"], manifest["metrics"]["int8"]
    print(
        f"exported to {out_dir}: test negative ELBO {fp32['neg_elbo']:.2f} (fp32), {int8['neg_elbo']:.2f} (int8) "
        f"nats/image over {len(images)} test digits; {fp32['active_units']} active units"
    )
    return manifest


def _write_model(
    folder: Path, model, config, state: dict, images: torch.Tensor, labels: torch.Tensor, digits: np.ndarray
) -> dict:
    latent_dim = config.latent_dim
    generator = torch.Generator().manual_seed(0)
    decoder = DecoderProbabilities(model.decoder).eval()
    fp32 = {part: folder / name for part, name in GRAPH_FILES["fp32"].items()}

    _export_graph(model.encoder, torch.rand(2, *IMAGE_SHAPE), fp32["encoder"], ENCODER_INPUT, ENCODER_OUTPUTS)
    _export_graph(decoder, torch.randn(2, latent_dim), fp32["decoder"], DECODER_INPUT, [DECODER_OUTPUT])
    _check_parity(
        model.encoder,
        fp32["encoder"],
        ENCODER_INPUT,
        lambda n: images[torch.randint(len(images), (n,), generator=generator)],
    )
    _check_parity(decoder, fp32["decoder"], DECODER_INPUT, lambda n: torch.randn(n, latent_dim, generator=generator))

    prior = _prior(model, config, fp32["encoder"])
    history = state["history"]
    manifest = {
        "format_version": FORMAT_VERSION,
        "latent_dim": latent_dim,
        "image_shape": list(IMAGE_SHAPE),
        "dataset": {
            "name": "MNIST",
            "test_images": len(images),
            "pixel_range": [0.0, 1.0],
            "convention": "white strokes on black",
        },
        "io": graph_io(latent_dim),
        **({} if prior is None else {"prior": prior.to_manifest()}),
        "training": {
            **config.to_dict(),
            "duration_s": round(state["duration_s"], 1),
            "final_train_neg_elbo": history[-1]["train_neg_elbo"] if history else None,
        },
        "versions": {
            "torch": str(torch.__version__),
            "opset": next(
                op.version for op in onnx.load(str(fp32["encoder"])).opset_import if op.domain in ("", "ai.onnx")
            ),
            "python": platform.python_version(),
        },
    }
    measure_prior = Prior.standard_normal(latent_dim) if prior is None else prior
    return _derive(folder, manifest, images.numpy(), labels.numpy(), digits, measure_prior)


def _derive(folder: Path, manifest: dict, images: np.ndarray, labels: np.ndarray, digits: np.ndarray, prior) -> dict:
    """Everything a model folder derives from its fp32 graphs (already in ``folder``) and MNIST: the int8
    graphs (calibrated on the training ``digits``), both precisions' metrics on the test ``images``, the
    slider ranges, the examples and the latent map (from the test digits' mu and ``labels``); then every
    graph stamped with the finished manifest and hashed into it, and manifest.json written.

    ``manifest`` holds what does not derive from the graphs (the model's description, its training);
    ``prior`` is the model's prior, which the measure's KL is taken to. Returns the finished manifest.
    """
    paths = {
        precision: {part: folder / name for part, name in files.items()} for precision, files in GRAPH_FILES.items()
    }
    manifest["quantization"] = quantize_model(paths["fp32"], paths["int8"], digits)
    measured = {
        precision: evaluate_graphs(files["encoder"], files["decoder"], images, prior)
        for precision, files in paths.items()
    }
    mu, logvar = measured["fp32"]["mu"], measured["fp32"]["logvar"]
    manifest["metrics"] = {precision: result["metrics"] for precision, result in measured.items()}
    manifest["evaluation"] = {"posterior_samples": 1, "seed": EVAL_SEED, "test_images": len(images)}
    manifest["latent_stats"] = _latent_stats(mu)
    manifest["examples"] = _pick_examples(images, mu, logvar, labels)
    latent_map = map_section(mu, labels)
    if latent_map is None:
        manifest.pop("map", None)
    else:
        manifest["map"] = latent_map
    manifest["versions"].update(_tool_versions())
    _stamp_and_hash(manifest, paths)
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _manifest_to_derive(model_dir: Path) -> tuple[dict, Prior]:
    """A model folder's manifest and prior, as far as deriving needs them: the prior, and the fp32
    graphs' SHA-256, checked against the graphs. What derive writes anew may be missing or come from
    an older vaeport, so the manifest is not held to every rule a runtime holds it to."""
    path = model_dir / MANIFEST_FILE
    try:
        manifest = json.loads(path.read_bytes())
    except (OSError, ValueError) as error:
        raise ModelFolderError(
            f"{path} is not a readable manifest ({error}); expected a model folder written by vaeport export"
        ) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("graphs"), dict):
        raise ModelFolderError(f"{path} records no graphs; expected a model folder written by vaeport export")
    prior = Prior.from_manifest(manifest)
    for role in GRAPH_FILES["fp32"]:
        read_graph(model_dir, str(model_dir), manifest, "fp32", role)
    return manifest, prior


def derive(model_dir: Path, data_root=None, download: bool = True) -> dict:
    """Write again everything a model folder derives from its fp32 graphs and MNIST, without the checkpoint.

    The fp32 graphs keep their weights, and the manifest its description of the model and its
    training; the int8 graphs (with this version's recipe), the metrics (on as many test digits as
    the manifest records), the slider ranges, the examples, the latent map, every graph's metadata and
    the hashes are written anew. The folder is replaced only when all of it succeeded. Returns the
    new manifest.
    """
    model_dir = Path(model_dir)
    manifest, prior = _manifest_to_derive(model_dir)
    test_images = manifest.get("evaluation", {}).get("test_images", manifest.get("dataset", {}).get("test_images"))
    if not isinstance(test_images, int) or isinstance(test_images, bool) or test_images < 1:
        raise ExportError(
            f"{model_dir / MANIFEST_FILE} records no evaluation.test_images (got {test_images!r}); expected the "
            "number of test digits its metrics were measured on, as vaeport export writes it"
        )
    manifest.setdefault("versions", {})
    images, labels = load_test_digits(data_root, download=download, limit=test_images)
    digits = calibration_digits(data_root, download=download)
    try:
        with replacing_folder(model_dir) as staging:
            for name in GRAPH_FILES["fp32"].values():
                shutil.copyfile(model_dir / name, staging / name)
            manifest = _derive(staging, manifest, images, labels, digits, prior)
            check_manifest(manifest, f"the manifest derived for {model_dir}")  # one both runtimes accept
    except VaeportError:
        raise
    except Exception as error:
        raise ExportError(
            f"deriving failed and {model_dir} was left as it was: {type(error).__name__}: {error}"
        ) from error
    fp32, int8 = manifest["metrics"]["fp32"], manifest["metrics"]["int8"]
    print(
        f"derived {model_dir} again: test negative ELBO {fp32['neg_elbo']:.2f} (fp32), {int8['neg_elbo']:.2f} (int8) "
        f"nats/image over {len(images)} test digits"
    )
    return manifest
