"""The quality measure computed from exported ONNX graphs and their manifest, with numpy and onnxruntime.

No torch here: ``vaeport evaluate`` works with ``pip install "vaeport[cpu]"`` alone. The prior
comes from the manifest (N(0, I) when it has no ``prior`` section); with N(0, I) the KL is
analytic, with a learned prior it is log q(z|x) - log p(z) at the z that was decoded.
"""

from pathlib import Path

import numpy as np

from vaeport.contract import DECODER_INPUT, ENCODER_INPUT, GRAPH_FILES, MANIFEST_FILE
from vaeport.runtime import VAERuntime
from vaeport.runtime.elbo import elbo_terms
from vaeport.runtime.prior import Prior
from vaeport.runtime.sessions import open_graph
from vaeport.training.errors import DataError, ModelFolderError
from vaeport.training.mnist_files import raw_folder, read_mnist, resolve_data_root, split_present, to_unit_floats
from vaeport.training.quality import quality_metrics

EVAL_BATCH = 1000
EVAL_SEED = 0


def measure_graphs(elbo, images: np.ndarray, seed: int = EVAL_SEED) -> dict:
    """Test-set metrics from ``elbo(batch, generator)``, each image's figures (as ``VAERuntime.elbo`` gives them),
    over ``images [N, 1, 28, 28]`` in [0, 1], one posterior sample per image.

    The noise comes from one generator seeded with ``seed`` that every batch draws from in turn, so
    the same graphs always measure the same. Returns ``{"metrics": {...}, "mu": [N, D], "logvar": [N, D]}``.
    """
    rng = np.random.default_rng(seed)
    batches = [
        elbo(np.ascontiguousarray(images[start : start + EVAL_BATCH], dtype=np.float32), rng)
        for start in range(0, len(images), EVAL_BATCH)
    ]
    joined = {key: np.concatenate([batch[key] for batch in batches]) for key in ("recon_bce", "kl", "mu", "logvar")}
    return {
        "metrics": quality_metrics(joined["recon_bce"], joined["kl"], joined["mu"]),
        "mu": joined["mu"],
        "logvar": joined["logvar"],
    }


def evaluate_graphs(
    encoder_path: Path, decoder_path: Path, images: np.ndarray, prior: Prior, seed: int = EVAL_SEED
) -> dict:
    """:func:`measure_graphs` on two graph files that have no manifest yet (a model being exported)."""
    encoder, decoder = open_graph(encoder_path), open_graph(decoder_path)

    def encode(batch):
        return encoder.run(None, {ENCODER_INPUT: batch})

    def decode(z):
        return decoder.run(None, {DECODER_INPUT: z})[0]

    return measure_graphs(lambda batch, rng: elbo_terms(encode, decode, batch, prior, rng), images, seed)


def load_test_digits(data_root=None, download: bool = True, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The MNIST test digits as float32 ``[N, 1, 28, 28]`` in [0, 1] and their labels.

    Read with numpy; only when the files are missing and ``download`` is on does torchvision fetch them.
    """
    root = resolve_data_root(data_root)
    if download and not split_present(root, train=False):
        try:
            from vaeport.training.data import download_mnist
        except ImportError:
            raw = raw_folder(root)
            raise DataError(
                f"the MNIST test files are not in {raw}, and downloading them needs torchvision: "
                f'pip install "vaeport[train]", or put t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte in {raw} '
                "or point --data-root at a folder that holds MNIST/raw/"
            ) from None
        download_mnist(root, train=False)
    images, labels = read_mnist(root, train=False, limit=limit)
    return to_unit_floats(images), labels


def evaluate_model_dir(model_dir: Path, data_root=None, download: bool = True, test_limit: int | None = None) -> dict:
    """Recompute a model folder's metrics for each precision and print them beside the manifest's.

    Each precision is loaded as any user of the runtime loads it: manifest, hashes and graphs checked.
    """
    runtimes = {precision: VAERuntime.load(model_dir, device="cpu", precision=precision) for precision in GRAPH_FILES}
    manifest, prior = runtimes["fp32"].manifest, runtimes["fp32"].prior
    if not all(precision in manifest.get("metrics", {}) for precision in GRAPH_FILES):
        raise ModelFolderError(
            f"{Path(model_dir) / MANIFEST_FILE} records no metrics for {list(GRAPH_FILES)}; expected a model folder written by `vaeport export`"
        )
    images, _ = load_test_digits(data_root, download=download, limit=test_limit)
    results = {precision: measure_graphs(vae.elbo, images)["metrics"] for precision, vae in runtimes.items()}

    kl_how = "analytic KL" if prior.is_standard_normal else "KL as log q(z|x) - log p(z) at the decoded z"
    print(f"test digits: {len(images)}, one posterior sample each (seed {EVAL_SEED})")
    print(f"prior: {prior.description} ({kl_how})")
    print(f"{'':6} {'metric':12} {'measured':>10} {'manifest':>10}")
    for precision, metrics in results.items():
        for key, value in metrics.items():
            print(f"{precision:6} {key:12} {value:10.3f} {manifest['metrics'][precision].get(key, float('nan')):10.3f}")
    return results
