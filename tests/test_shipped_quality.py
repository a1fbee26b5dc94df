"""The shipped model's quality, measured by code that shares nothing with vaeport's: the MNIST test
file read here, the graphs run in bare onnxruntime sessions, and DESIGN.md's measure written out in
float64 numpy (BCE over the 784 grey pixels, plus log q(z|x) - log p(z) at one posterior sample).
It must agree with the figures export recorded and `vaeport evaluate` recomputes."""

import json
import math

import numpy as np
import onnxruntime as ort
import pytest

from conftest import SHIPPED_MODEL

TARGET = 94.0  # nats per test digit the shipped fp32 graphs must reach
SEEDS = (11, 12)  # noise of this estimator's own, unlike the evaluation seed vaeport uses
NOISE = 0.1  # nats: the single-sample estimate moves by about 0.02 between seeds


def read_idx_images(path) -> np.ndarray:
    data = path.read_bytes()
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(data[3])]
    assert data[2] == 8 and len(data) == 4 + 4 * len(dims) + math.prod(dims), f"{path} is not an IDX file of bytes"
    return np.frombuffer(data, np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def gaussian_log_density(z, mean, logvar):
    return -0.5 * np.sum(np.log(2 * np.pi) + logvar + (z - mean) ** 2 * np.exp(-logvar), axis=-1)


def negative_elbos(encoder, decoder, prior: dict, images: np.ndarray, seeds) -> list[float]:
    """The measure of the graphs ``encoder`` and ``decoder`` on ``images``, once per noise seed."""
    session = {
        name: ort.InferenceSession(str(SHIPPED_MODEL / name), providers=["CPUExecutionProvider"])
        for name in (encoder, decoder)
    }
    mu, logvar = (a.astype(np.float64) for a in session[encoder].run(None, {"image": images[:, None]}))
    x = images.reshape(len(images), -1).astype(np.float64)
    means, logvars = np.array(prior["means"]), np.array(prior["logvars"])
    measured = []
    for seed in seeds:
        z = (mu + np.exp(0.5 * logvar) * np.random.default_rng(seed).standard_normal(mu.shape)).astype(np.float32)
        (p,) = session[decoder].run(None, {"z": z})
        p, z = p.reshape(len(p), -1).astype(np.float64), z.astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):  # x log p is 0 where x is, whatever p
            log_likelihood = np.where(x > 0, x * np.log(p), 0) + np.where(x < 1, (1 - x) * np.log1p(-p), 0)
        components = np.log(prior["weights"]) + gaussian_log_density(z[:, None], means, logvars)
        peak = components.max(axis=1)
        log_prior = peak + np.log(np.exp(components - peak[:, None]).sum(axis=1))
        kl = gaussian_log_density(z, mu, logvar) - log_prior
        measured.append(float(np.mean(-log_likelihood.sum(axis=1) + kl)))
    return measured


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_the_shipped_graphs_measure_what_their_manifest_says(data_root, precision):
    manifest = json.loads((SHIPPED_MODEL / "manifest.json").read_text())
    assert manifest["prior"]["type"] == "gaussian_mixture"
    images = read_idx_images(data_root / "MNIST" / "raw" / "t10k-images-idx3-ubyte").astype(np.float32) / 255
    suffix = "" if precision == "fp32" else ".int8"
    measured = negative_elbos(f"encoder{suffix}.onnx", f"decoder{suffix}.onnx", manifest["prior"], images, SEEDS)
    recorded = manifest["metrics"][precision]["neg_elbo"]
    assert all(abs(m - recorded) < NOISE for m in measured), (measured, recorded)
    if precision == "fp32":
        assert max(measured) <= TARGET and recorded <= TARGET, (measured, recorded)
