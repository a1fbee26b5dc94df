"""The quality measure of DESIGN.md for each image, in numpy: its negative ELBO and the parts of it, in nats.

Binary cross-entropy of the decoded probabilities against the image's pixels in [0, 1], summed
over the 784 pixels, plus the KL from the posterior q(z|x) = N(mu, exp(logvar)) to the prior at one
posterior sample z: analytic for the standard normal prior, the single-sample estimate
log q(z|x) - log p(z) for a learned one. Everything is computed in float64. The browser runtime
(``ui/static/runtime.mjs``, ``elbo``) computes the same figures.
"""

import numpy as np

from vaeport.runtime.prior import Prior, gaussian_log_prob

LOG_FLOOR = -100.0  # log(0) counts as -100, as PyTorch's binary_cross_entropy clamps it


def bce_from_probabilities(probs: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-image BCE of the decoder's probabilities ``[N, ...]`` against pixels in [0, 1].

    A probability of exactly 0 or 1 (float32 rounds the logistic there) costs at most 100
    nats a pixel rather than infinity, the same floor PyTorch uses.
    """
    p = probs.astype(np.float64).reshape(len(probs), -1)
    x = target.astype(np.float64).reshape(len(target), -1)
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(p), LOG_FLOOR)
        log_not_p = np.maximum(np.log1p(-p), LOG_FLOOR)
    return -(x * log_p + (1 - x) * log_not_p).sum(axis=1)


def kl_to_standard_normal(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """KL(N(mu, exp(logvar)) || N(0, I)) per row, analytic."""
    mu, logvar = mu.astype(np.float64), logvar.astype(np.float64)
    return -0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar), axis=1)


def posterior_sample(mu: np.ndarray, logvar: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One z per row from N(mu, exp(logvar)), float32, the noise drawn from ``rng`` in float32."""
    return (mu + np.exp(0.5 * logvar) * rng.standard_normal(mu.shape, dtype=np.float32)).astype(np.float32)


def elbo_terms(encode, decode, images: np.ndarray, prior: Prior, rng: np.random.Generator, z=None) -> dict:
    """Each image's figures: ``images [N, 1, 28, 28]`` float32 in [0, 1] through ``encode(images) ->
    (mu, logvar)`` and ``decode(z) -> probabilities``, at ``z [N, D]`` or, when it is None, at one
    sample of each posterior drawn from ``rng``.

    Returns float64 arrays ``[N]``: ``recon_bce``, ``kl``, ``neg_elbo`` (their sum) and ``log_pz``
    (log p(z) under the prior), and the ``mu``, ``logvar`` and ``z`` they came from.
    """
    mu, logvar = encode(images)
    z = posterior_sample(mu, logvar, rng) if z is None else z
    bce = bce_from_probabilities(decode(z), images)
    log_pz = prior.log_prob(z)
    kl = kl_to_standard_normal(mu, logvar) if prior.is_standard_normal else gaussian_log_prob(z, mu, logvar) - log_pz
    return {"recon_bce": bce, "kl": kl, "neg_elbo": bce + kl, "log_pz": log_pz, "mu": mu, "logvar": logvar, "z": z}
