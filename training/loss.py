"""The quality measure of DESIGN.md: negative ELBO in nats per image.

BCE summed over the 784 pixels (targets in [0, 1], not binarised) plus the analytic KL
of N(mu, sigma) from N(0, I), each returned per image so callers can sum or average.
"""

import torch
import torch.nn.functional as F


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)


def reconstruction_bce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """From logits: stable where a sigmoid would round to exactly 0 or 1 (used in training)."""
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return bce.flatten(1).sum(dim=1)


def reconstruction_bce_from_probabilities(probs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """From the probabilities an exported decoder returns (used to evaluate the graphs)."""
    bce = F.binary_cross_entropy(probs.double(), target.double(), reduction="none")
    return bce.flatten(1).sum(dim=1)


def negative_elbo(logits: torch.Tensor, target: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor):
    """Per-image ``(negative ELBO, reconstruction BCE, KL)``."""
    bce = reconstruction_bce(logits, target)
    kl = kl_divergence(mu, logvar)
    return bce + kl, bce, kl


ACTIVE_UNIT_THRESHOLD = 0.01


def summarize(bce: torch.Tensor, kl: torch.Tensor, mu: torch.Tensor) -> dict:
    """Test-set metrics from per-image BCE and KL and every image's encoder mean.

    A latent dimension is active when its encoder mean varies over the data by more than
    0.01 (variance across images), the usual test for posterior collapse.
    """
    return {
        "neg_elbo": float((bce + kl).mean()),
        "recon_bce": float(bce.mean()),
        "kl": float(kl.mean()),
        "active_units": int((mu.double().var(dim=0) > ACTIVE_UNIT_THRESHOLD).sum()),
    }
