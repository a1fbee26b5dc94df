"""The VAE: an MLP encoder to a diagonal Gaussian posterior and a mirrored MLP decoder.

Encoder and decoder are separate modules because they ship as separate ONNX graphs.
The decoder returns logits for training (BCE-with-logits is stable where a sigmoid
saturates); the exported decoder graph applies the logistic, as the contract asks.
"""

import math

import torch
from torch import nn

from vaeport.choices import ACTIVATIONS
from vaeport.contract import IMAGE_SHAPE
from vaeport.training.prior import build_prior

IMAGE_PIXELS = math.prod(IMAGE_SHAPE)


def _mlp(widths: list[int], activation: str, dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width_in, width_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(width_in, width_out), getattr(nn, ACTIVATIONS[activation])()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class Encoder(nn.Module):
    """``image [N, *IMAGE_SHAPE]`` in [0, 1] -> ``mu, logvar [N, D]``."""

    def __init__(self, latent_dim: int, hidden: tuple[int, ...], activation: str = "relu", dropout: float = 0.0):
        super().__init__()
        self.body = _mlp([IMAGE_PIXELS, *hidden], activation, dropout)
        self.mu = nn.Linear(hidden[-1], latent_dim)
        self.logvar = nn.Linear(hidden[-1], latent_dim)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(image.flatten(1))
        return self.mu(features), self.logvar(features)


class Decoder(nn.Module):
    """``z [N, D]`` -> pixel logits ``[N, *IMAGE_SHAPE]``."""

    def __init__(self, latent_dim: int, hidden: tuple[int, ...], activation: str = "relu", dropout: float = 0.0):
        super().__init__()
        widths = [latent_dim, *reversed(hidden)]
        self.body = _mlp(widths, activation, dropout)
        self.out = nn.Linear(widths[-1], IMAGE_PIXELS)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(z)).view(-1, *IMAGE_SHAPE)


class DecoderProbabilities(nn.Module):
    """The decoder as it ships: pixel probabilities in [0, 1] instead of logits.

    The logistic is written as ``1 / (1 + exp(-x))`` rather than ``sigmoid``: onnxruntime's
    Sigmoid kernel approximates it with an absolute error near 1e-7, so it returns exactly 0 for
    logits below about -17 and wrong small probabilities above. Faint pixels then cost far more
    BCE than the model predicts (0.1 nats per test image for the shipped model); with exp the
    relative error stays below 1e-5 down to the smallest probabilities float32 holds.
    """

    def __init__(self, decoder: Decoder):
        super().__init__()
        self.decoder = decoder

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.reciprocal(1 + torch.exp(-self.decoder(z)))


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """z = mu + sigma * eps with eps ~ N(0, I): a sample that gradients flow through."""
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
    return mu + torch.exp(0.5 * logvar) * eps


class VAE(nn.Module):
    """Encoder, decoder and, for a learned prior, the prior's parameters (``prior`` is None for N(0, I))."""

    def __init__(
        self,
        latent_dim: int = 10,
        hidden: tuple[int, ...] = (512, 256),
        activation: str = "relu",
        dropout: float = 0.0,
        prior: str = "standard",
        prior_components: int = 1,
    ):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = Encoder(latent_dim, hidden, activation, dropout)
        self.decoder = Decoder(latent_dim, hidden, activation, dropout)
        self.prior = build_prior(prior, prior_components, latent_dim)

    def prior_mixture(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
        """The learned prior as ``(log_weights [K], means [K, D], logvars [K, D])``; None for N(0, I)."""
        return None if self.prior is None else self.prior.mixture(self.encoder)

    def forward(self, image: torch.Tensor, generator: torch.Generator | None = None):
        """``(logits, mu, logvar, z)``: z is the posterior sample that was decoded."""
        mu, logvar = self.encoder(image)
        z = reparameterize(mu, logvar, generator)
        return self.decoder(z), mu, logvar, z


@torch.no_grad()
def sample_prior(model: VAE, n: int, generator: torch.Generator) -> torch.Tensor:
    """``n`` latent vectors from the model's prior: pick a component by its weight, then mean + sigma * eps."""
    mixture = model.prior_mixture()
    if mixture is None:
        return torch.randn(n, model.latent_dim, generator=generator)
    log_weights, means, logvars = mixture
    picks = torch.multinomial(log_weights.exp(), n, replacement=True, generator=generator)
    return means[picks] + torch.exp(0.5 * logvars[picks]) * torch.randn(n, model.latent_dim, generator=generator)
