"""The quality measure computed from exported ONNX graphs with onnxruntime, not from PyTorch."""

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from vaeport.contract import DECODER_INPUT, ENCODER_INPUT, GRAPH_FILES, MANIFEST_FILE, sha256_file
from vaeport.training.data import load_mnist
from vaeport.training.errors import ModelFolderError
from vaeport.training.loss import kl_divergence, reconstruction_bce_from_probabilities, summarize

EVAL_BATCH = 1000
EVAL_SEED = 0


def cpu_session(path: Path) -> ort.InferenceSession:
    """A quiet CPU session over a graph file; a graph onnxruntime cannot load is a ModelFolderError."""
    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own pybind11 types
        raise ModelFolderError(f"onnxruntime could not load {path}: {error}") from None


def evaluate_graphs(encoder_path: Path, decoder_path: Path, images: np.ndarray, seed: int = EVAL_SEED) -> dict:
    """Metrics of the graphs on ``images [N, 1, 28, 28]``, one posterior sample per image.

    Returns ``{"metrics": {...}, "mu": [N, D], "logvar": [N, D]}``.
    """
    encoder, decoder = cpu_session(encoder_path), cpu_session(decoder_path)
    rng = np.random.default_rng(seed)
    bce, kl, mus, logvars = [], [], [], []
    for start in range(0, len(images), EVAL_BATCH):
        batch = np.ascontiguousarray(images[start:start + EVAL_BATCH], dtype=np.float32)
        mu, logvar = encoder.run(None, {ENCODER_INPUT: batch})
        z = mu + np.exp(0.5 * logvar) * rng.standard_normal(mu.shape, dtype=np.float32)
        (probs,) = decoder.run(None, {DECODER_INPUT: z.astype(np.float32)})
        mu_t, logvar_t = torch.from_numpy(mu), torch.from_numpy(logvar)
        bce.append(reconstruction_bce_from_probabilities(torch.from_numpy(probs), torch.from_numpy(batch)))
        kl.append(kl_divergence(mu_t.double(), logvar_t.double()))
        mus.append(mu)
        logvars.append(logvar)
    mu_all = np.concatenate(mus)
    metrics = summarize(torch.cat(bce), torch.cat(kl), torch.from_numpy(mu_all))
    return {"metrics": metrics, "mu": mu_all, "logvar": np.concatenate(logvars)}


def evaluate_model_dir(model_dir: Path, data_root=None, download: bool = True, test_limit: int | None = None) -> dict:
    """Recompute a model folder's metrics for each precision and print them beside the manifest's."""
    model_dir = Path(model_dir)
    manifest_path = model_dir / MANIFEST_FILE
    if not manifest_path.is_file():
        raise ModelFolderError(f"{model_dir} holds no {MANIFEST_FILE}; expected a model folder written by `vaeport export`")
    try:
        manifest = json.loads(manifest_path.read_text())
        recorded = {precision: dict(manifest["metrics"][precision]) for precision in GRAPH_FILES}
        hashes = {precision: {part: manifest["graphs"][precision][part]["sha256"] for part in files}
                  for precision, files in GRAPH_FILES.items()}
    except (ValueError, KeyError, TypeError) as error:
        raise ModelFolderError(f"{manifest_path} is not a vaeport manifest ({type(error).__name__}: {error})") from None

    graphs = {precision: {part: model_dir / name for part, name in files.items()} for precision, files in GRAPH_FILES.items()}
    for precision, paths in graphs.items():
        for part, path in paths.items():
            if not path.is_file():
                raise ModelFolderError(f"{path} is missing; expected the four graphs `vaeport export` writes")
            if sha256_file(path) != hashes[precision][part]:
                raise ModelFolderError(f"{path.name} does not match the SHA-256 its manifest records; the manifest's metrics are not about it")

    images, _ = load_mnist(data_root, train=False, download=download, limit=test_limit)
    results = {precision: evaluate_graphs(paths["encoder"], paths["decoder"], images.numpy())["metrics"]
               for precision, paths in graphs.items()}

    print(f"test digits: {len(images)}, one posterior sample each (seed {EVAL_SEED})")
    print(f"{'':6} {'metric':12} {'measured':>10} {'manifest':>10}")
    for precision, metrics in results.items():
        for key, value in metrics.items():
            print(f"{precision:6} {key:12} {value:10.3f} {recorded[precision].get(key, float('nan')):10.3f}")
    return results
