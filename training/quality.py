"""The quality measure of DESIGN.md in numpy, for the exported graphs' outputs (no torch needed).

Negative ELBO in nats per image: binary cross-entropy summed over the 784 pixels in [0, 1]
plus the KL from the posterior to the prior, one posterior sample per image. The KL is
analytic for the standard normal prior; for a learned prior it is log q(z|x) - log p(z) at
the z that was decoded. Everything is computed in float64.
"""

import numpy as np

LOG_FLOOR = -100.0  # log(0) counts as -100, as PyTorch's binary_cross_entropy clamps it
ACTIVE_UNIT_THRESHOLD = 0.01


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


def quality_metrics(bce: np.ndarray, kl: np.ndarray, mu: np.ndarray) -> dict:
    """Test-set metrics from per-image BCE and KL and every image's encoder mean.

    A latent dimension is active when its encoder mean varies over the data by more than
    0.01 (variance across images), the usual test for posterior collapse.
    """
    bce, kl = np.asarray(bce, np.float64), np.asarray(kl, np.float64)
    return {
        "neg_elbo": float((bce + kl).mean()),
        "recon_bce": float(bce.mean()),
        "kl": float(kl.mean()),
        "active_units": int((np.asarray(mu, np.float64).var(axis=0, ddof=1) > ACTIVE_UNIT_THRESHOLD).sum()),
    }
