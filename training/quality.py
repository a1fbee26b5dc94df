"""Test-set metrics from each image's figures (``vaeport.runtime.elbo`` computes those, in numpy)."""

import numpy as np

ACTIVE_UNIT_THRESHOLD = 0.01


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
