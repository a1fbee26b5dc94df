"""The VAE: an encoder to a diagonal Gaussian posterior and a decoder that mirrors it.

Two architectures (``vaeport.choices.ARCHITECTURES``):

- ``mlp``: dense layers only, ``784 -> hidden... -> D`` and back;
- ``conv``: the encoder starts with 4x4 convolutions of stride 2, one per entry of ``channels``
  (28x28 -> 14x14 -> 7x7), flattens, and goes on with the dense layers; the decoder's dense layers
  end in ``channels[-1] x 7 x 7`` features that 4x4 transposed convolutions of stride 2 bring back
  to 28x28. Convolutions share their weights across the image, so they fit digits with fewer
  parameters and over-fit less than dense layers.

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
KERNEL, STRIDE, PADDING = 4, 2, 1  # each convolution halves the side exactly: 28 -> 14 -> 7


def _activation(name: str) -> nn.Module:
    return getattr(nn, ACTIVATIONS[name])()


def _dense(widths: list[int], activation: str, dropout: float) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for width_in, width_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(width_in, width_out), _activation(activation)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    return layers


def conv_side(channels: tuple[int, ...]) -> int:
    """The side of the feature maps after the convolutions: 28 halved once per convolution."""
    return IMAGE_SHAPE[-1] // STRIDE ** len(channels)


class Encoder(nn.Module):
    """``image [N, *IMAGE_SHAPE]`` in [0, 1] -> ``mu, logvar [N, D]``."""

    def __init__(
        self,
        latent_dim: int,
        hidden: tuple[int, ...],
        activation: str = "relu",
        dropout: float = 0.0,
        channels: tuple[int, ...] = (),
    ):
        super().__init__()
        layers: list[nn.Module] = []
        for channels_in, channels_out in zip((IMAGE_SHAPE[0], *channels), channels):
            layers += [nn.Conv2d(channels_in, channels_out, KERNEL, STRIDE, PADDING), _activation(activation)]
        self.convs = nn.Sequential(*layers)
        features = channels[-1] * conv_side(channels) ** 2 if channels else IMAGE_PIXELS
        self.body = nn.Sequential(*_dense([features, *hidden], activation, dropout))
        self.mu = nn.Linear(hidden[-1], latent_dim)
        self.logvar = nn.Linear(hidden[-1], latent_dim)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(self.convs(image).flatten(1))
        return self.mu(features), self.logvar(features)


class Decoder(nn.Module):
    """``z [N, D]`` -> pixel logits ``[N, *IMAGE_SHAPE]``."""

    def __init__(
        self,
        latent_dim: int,
        hidden: tuple[int, ...],
        activation: str = "relu",
        dropout: float = 0.0,
        channels: tuple[int, ...] = (),
    ):
        super().__init__()
        widths = [latent_dim, *reversed(hidden)]
        if not channels:
            self.body = nn.Sequential(*_dense(widths, activation, dropout))
            self.convs = nn.Sequential()
            self.out = nn.Linear(widths[-1], IMAGE_PIXELS)
            return
        side = conv_side(channels)
        self.body = nn.Sequential(*_dense([*widths, channels[-1] * side**2], activation, dropout))
        layers: list[nn.Module] = [nn.Unflatten(1, (channels[-1], side, side))]
        upward = list(reversed(channels))
        for channels_in, channels_out in zip(upward[:-1], upward[1:]):
            layers += [nn.ConvTranspose2d(channels_in, channels_out, KERNEL, STRIDE, PADDING), _activation(activation)]
        self.convs = nn.Sequential(*layers)
        self.out = nn.ConvTranspose2d(channels[0], IMAGE_SHAPE[0], KERNEL, STRIDE, PADDING)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.out(self.convs(self.body(z))).view(-1, *IMAGE_SHAPE)


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
    """Encoder, decoder and, for a learned prior, the prior's parameters (``prior`` is None for N(0, I)).

    ``channels`` empty builds the ``mlp`` architecture, otherwise ``conv`` with those channels.
    """

    def __init__(
        self,
        latent_dim: int = 10,
        hidden: tuple[int, ...] = (512, 256),
        activation: str = "relu",
        dropout: float = 0.0,
        prior: str = "standard",
        prior_components: int = 1,
        channels: tuple[int, ...] = (),
    ):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = Encoder(latent_dim, hidden, activation, dropout, channels)
        self.decoder = Decoder(latent_dim, hidden, activation, dropout, channels)
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
