"""The quality measure of DESIGN.md in PyTorch: negative ELBO in nats per image.

BCE summed over the 784 pixels (targets in [0, 1], not binarised) plus the KL from the
posterior N(mu, sigma) to the prior, each returned per image so callers can sum or average.
With the standard normal prior the KL is analytic; with a learned mixture prior it is the
single-sample estimate log q(z|x) - log p(z) at the z that was decoded, which is what the
exported graphs are measured with as well (training/evaluate.py), so the figures compare.
"""

import torch
import torch.nn.functional as F

from vaeport.training.prior import gaussian_log_prob, mixture_log_prob


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per image, analytic."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)


def kl_estimate(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, prior_mixture) -> torch.Tensor:
    """log q(z|x) - log p(z) per image at one posterior sample ``z``, for a mixture prior
    ``(log_weights [K], means [K, D], logvars [K, D])``. Its mean over images is an unbiased
    estimate of the KL, which has no closed form for a mixture."""
    return gaussian_log_prob(z, mu, logvar) - mixture_log_prob(z, *prior_mixture)


def reconstruction_bce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """From logits: stable where a sigmoid would round to exactly 0 or 1."""
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return bce.flatten(1).sum(dim=1)


def negative_elbo(logits, target, mu, logvar, z=None, prior_mixture=None):
    """Per-image ``(negative ELBO, reconstruction BCE, KL)``.

    ``prior_mixture`` None means the standard normal prior (analytic KL, ``z`` unused);
    otherwise the KL is estimated at ``z``, the posterior sample ``logits`` were decoded from.
    """
    bce = reconstruction_bce(logits, target)
    kl = kl_divergence(mu, logvar) if prior_mixture is None else kl_estimate(z, mu, logvar, prior_mixture)
    return bce + kl, bce, kl
