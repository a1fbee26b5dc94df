"""Hyperparameters of a training run, validated up front so a bad value fails before any work."""

from dataclasses import asdict, dataclass

from vaeport.choices import ACTIVATIONS, ARCHITECTURES, PRIORS
from vaeport.training.errors import ConfigError
from vaeport.training.model import VAE

MAX_CONVOLUTIONS = 2  # 28 halves to 14, then 7, which no further stride-2 convolution halves exactly


@dataclass(frozen=True)
class TrainConfig:
    """Every choice a training run makes; the defaults are the recipe of the shipped model.

    ``prior``: ``"standard"`` (N(0, I)), ``"mog"`` (a mixture of ``prior_components`` learned
    Gaussians) or ``"vamp"`` (a VampPrior over ``prior_components`` learned pseudo-inputs).
    The prior's parameters get their own decoupled weight decay, ``prior_weight_decay``.
    ``architecture``: ``"conv"`` (convolutions with ``channels``, then dense layers of widths
    ``hidden``) or ``"mlp"`` (dense layers only; ``channels`` does not apply).
    """

    latent_dim: int = 10
    architecture: str = "conv"
    channels: tuple[int, ...] = (32, 64)
    hidden: tuple[int, ...] = (512,)
    activation: str = "relu"
    dropout: float = 0.0
    epochs: int = 40
    batch_size: int = 64
    lr: float = 1.5e-3
    weight_decay: float = 0.067
    kl_warmup_epochs: float = 3.0
    ema_decay: float = 0.999
    prior: str = "mog"
    prior_components: int = 50
    prior_weight_decay: float = 0.0
    seed: int = 0
    threads: int = 2
    train_limit: int | None = None
    test_limit: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "hidden", tuple(self.hidden))
        # the MLP has no convolutions, whatever channels the conv default would give it
        object.__setattr__(self, "channels", tuple(self.channels) if self.architecture == "conv" else ())
        checks = [
            (self.latent_dim >= 1, f"latent_dim must be at least 1, got {self.latent_dim}"),
            (
                self.architecture in ARCHITECTURES,
                f"architecture must be one of {list(ARCHITECTURES)}, got {self.architecture!r}",
            ),
            (
                self.architecture != "conv" or 1 <= len(self.channels) <= MAX_CONVOLUTIONS,
                f"channels must list 1 to {MAX_CONVOLUTIONS} convolutions for the conv architecture "
                f"(each halves the 28x28 image), got {self.channels}",
            ),
            (all(c >= 1 for c in self.channels), f"channels must be positive, got {self.channels}"),
            (
                len(self.hidden) >= 1 and all(h >= 1 for h in self.hidden),
                f"hidden must list one or more positive widths, got {self.hidden}",
            ),
            (
                self.activation in ACTIVATIONS,
                f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}",
            ),
            (self.weight_decay >= 0, f"weight_decay must be zero or more, got {self.weight_decay}"),
            (0 <= self.dropout < 1, f"dropout must be in [0, 1), got {self.dropout}"),
            (self.kl_warmup_epochs >= 0, f"kl_warmup_epochs must be zero or more, got {self.kl_warmup_epochs}"),
            (self.epochs >= 1, f"epochs must be at least 1, got {self.epochs}"),
            (self.batch_size >= 1, f"batch_size must be at least 1, got {self.batch_size}"),
            (self.lr > 0, f"lr must be positive, got {self.lr}"),
            (0 <= self.ema_decay < 1, f"ema_decay must be in [0, 1), got {self.ema_decay}"),
            (self.prior in PRIORS, f"prior must be one of {list(PRIORS)}, got {self.prior!r}"),
            (self.prior_components >= 1, f"prior_components must be at least 1, got {self.prior_components}"),
            (self.prior_weight_decay >= 0, f"prior_weight_decay must be zero or more, got {self.prior_weight_decay}"),
            (self.threads >= 1, f"threads must be at least 1, got {self.threads}"),
            (
                self.train_limit is None or self.train_limit >= 1,
                f"train_limit must be at least 1, got {self.train_limit}",
            ),
            (self.test_limit is None or self.test_limit >= 1, f"test_limit must be at least 1, got {self.test_limit}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        """From a checkpoint's or manifest's record, which may hold other keys beside the fields.

        A record without ``prior`` describes a model with the standard normal prior N(0, I), one
        without ``architecture`` an MLP.
        """
        fields = {name: value for name, value in values.items() if name in cls.__dataclass_fields__}
        return cls(**{"prior": "standard", "architecture": "mlp", **fields})

    def build_model(self) -> VAE:
        return VAE(
            self.latent_dim,
            self.hidden,
            self.activation,
            self.dropout,
            self.prior,
            self.prior_components,
            self.channels,
        )

    def to_dict(self) -> dict:
        """Plain JSON types (lists, not tuples), as the manifest and checkpoint store them."""
        return {**asdict(self), "hidden": list(self.hidden), "channels": list(self.channels)}
