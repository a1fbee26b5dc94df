"""Priors p(z) over the latent space: the standard normal, or a learned mixture of diagonal Gaussians.

A learned prior lets the model put its probability where the encoder puts digits, instead of
paying, through the KL, to pull every posterior towards N(0, I). Two learned kinds:

- ``mog``: a mixture of K diagonal Gaussians whose weights, means and log-variances are
  parameters of their own;
- ``vamp``: the VampPrior (Tomczak and Welling, 2018), a uniform mixture of the encoder's
  posteriors of K learned pseudo-inputs, images in [0, 1] that are parameters of their own.

Both reduce to a mixture of diagonal Gaussians, which is how the manifest describes a prior:
the VampPrior's pseudo-inputs are encoded once at export. With the standard normal the KL
is analytic; with a mixture it is the single-sample estimate log q(z|x) - log p(z) at the z
that was decoded.
"""

import math

import torch
from torch import nn

from vaeport.choices import PRIORS
from vaeport.contract import IMAGE_SHAPE
from vaeport.runtime.prior import LOG_2PI, STANDARD_NORMAL


def gaussian_log_prob(z: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mean, diag(exp(logvar))) summed over the last dimension (all three broadcast)."""
    return -0.5 * (LOG_2PI + logvar + (z - mean).pow(2) * torch.exp(-logvar)).sum(dim=-1)


def mixture_log_prob(
    z: torch.Tensor, log_weights: torch.Tensor, means: torch.Tensor, logvars: torch.Tensor
) -> torch.Tensor:
    """``log p(z) [N]`` of a mixture of K diagonal Gaussians: ``z [N, D]``, ``log_weights [K]``, ``means, logvars [K, D]``."""
    per_component = gaussian_log_prob(z[:, None, :], means[None], logvars[None])  # [N, K]
    return torch.logsumexp(per_component + log_weights, dim=1)


class GaussianMixture(nn.Module):
    """A mixture of ``components`` diagonal Gaussians over ``latent_dim`` dimensions, all of it learned.

    Starts as equal weights, unit variances and means drawn from N(0, I), so that together the
    components cover about where the standard normal prior would.
    """

    def __init__(self, components: int, latent_dim: int):
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(components))
        self.means = nn.Parameter(torch.randn(components, latent_dim))
        self.logvars = nn.Parameter(torch.zeros(components, latent_dim))

    def mixture(self, encoder: nn.Module) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return torch.log_softmax(self.logits, dim=0), self.means, self.logvars


class PseudoInputs(nn.Module):
    """The VampPrior: p(z) = (1/K) sum_k q(z | u_k) over K learned pseudo-inputs u_k in [0, 1].

    The pseudo-inputs are parameters clipped to [0, 1] (a hard tanh, as in the paper), so they
    are valid encoder inputs under the ONNX contract; training starts them at K training digits.
    The encoder is passed in rather than held, so that it is not a second copy in the state dict.
    """

    def __init__(self, components: int):
        super().__init__()
        self.pixels = nn.Parameter(torch.full((components, *IMAGE_SHAPE), 0.05))

    def images(self) -> torch.Tensor:
        return torch.clamp(self.pixels, 0.0, 1.0)

    @torch.no_grad()
    def start_from(self, images: torch.Tensor) -> None:
        self.pixels.copy_(images)

    def mixture(self, encoder: nn.Module) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        means, logvars = encoder(self.images())
        log_weights = torch.full((len(means),), -math.log(len(means)), dtype=means.dtype)
        return log_weights, means, logvars


def build_prior(kind: str, components: int, latent_dim: int) -> nn.Module | None:
    """The learned part of a prior; None for the standard normal, which has nothing to learn."""
    if kind == "standard":
        return None
    if kind == "mog":
        return GaussianMixture(components, latent_dim)
    if kind == "vamp":
        return PseudoInputs(components)
    raise ValueError(f"prior must be one of {PRIORS}, got {kind!r}")


def describe_prior(kind: str, components: int) -> str:
    """The manifest's human-readable description of a prior."""
    return {
        "standard": STANDARD_NORMAL,
        "mog": f"mixture of {components} learned Gaussians",
        "vamp": f"VampPrior: {components} learned pseudo-inputs, encoded at export",
    }[kind]
