"""The model's prior p(z) as the runtime sees it: a mixture of diagonal Gaussians, in numpy alone.

A manifest with a ``prior`` section describes a learned prior::

    "prior": {"type": "gaussian_mixture", "weights": [K], "means": [[D] x K], "logvars": [[D] x K],
              "description": "..."}

A manifest without one means the standard normal N(0, I), which is the mixture of a single
component with mean 0 and log-variance 0, so older model folders keep working.
"""

import math

import numpy as np

from vaeport.runtime.arrays import count
from vaeport.runtime.errors import InputError, ModelError
from vaeport.runtime.json_numbers import is_count, json_numbers

MIXTURE_TYPE = "gaussian_mixture"
WEIGHT_SUM_TOLERANCE = 1e-6
LOG_2PI = math.log(2 * math.pi)
STANDARD_NORMAL = "standard normal N(0, I)"


def gaussian_log_prob(z: np.ndarray, mean: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """log N(z; mean, diag(exp(logvar))), summed over the last axis, in float64; the arrays broadcast."""
    z, mean, logvar = (np.asarray(a, dtype=np.float64) for a in (z, mean, logvar))
    return -0.5 * np.sum(LOG_2PI + logvar + (z - mean) ** 2 * np.exp(-logvar), axis=-1)


class Prior:
    """A mixture of K diagonal Gaussians over D latent dimensions.

    ``weights [K]`` (positive, summing to 1), ``means [K, D]`` and ``logvars [K, D]``, float64.
    Create it with :meth:`from_manifest` or :meth:`standard_normal`. The weights are divided by
    their sum, which a manifest may miss by up to 1e-6.
    """

    def __init__(self, weights: np.ndarray, means: np.ndarray, logvars: np.ndarray, description: str):
        weights = np.asarray(weights, dtype=np.float64)
        self.weights = weights / weights.sum()
        self.means = np.asarray(means, dtype=np.float64)
        self.logvars = np.asarray(logvars, dtype=np.float64)
        self.description = description

    @classmethod
    def standard_normal(cls, latent_dim: int) -> "Prior":
        return cls(np.ones(1), np.zeros((1, latent_dim)), np.zeros((1, latent_dim)), STANDARD_NORMAL)

    @classmethod
    def from_manifest(cls, manifest: dict) -> "Prior":
        """The manifest's ``prior`` section, checked; N(0, I) when there is none.

        Raises :class:`ModelError` naming the key that is wrong and what was expected.
        """
        latent_dim = manifest.get("latent_dim") if isinstance(manifest, dict) else None
        if not is_count(latent_dim):
            raise ModelError(f"manifest latent_dim must be a positive whole number; got {latent_dim!r}")
        if "prior" not in manifest:
            return cls.standard_normal(latent_dim)
        section = manifest["prior"]
        if not isinstance(section, dict):
            raise ModelError(
                f"manifest prior must be an object with type, weights, means, logvars and description; got {type(section).__name__}"
            )
        if section.get("type") != MIXTURE_TYPE:
            raise ModelError(f"manifest prior.type must be {MIXTURE_TYPE!r}; got {section.get('type')!r}")
        if not isinstance(section.get("description"), str):
            raise ModelError(f"manifest prior.description must be a string; got {section.get('description')!r}")
        weights_list = section.get("weights")
        if not isinstance(weights_list, list) or not weights_list:
            raise ModelError(
                f"manifest prior.weights must be a non-empty list of numbers (one per component); got {weights_list!r}"
            )
        components = len(weights_list)
        weights = json_numbers(
            section.get("weights"), "prior.weights", (components,), "a list of K numbers, one weight per component"
        )
        if (weights <= 0).any():
            raise ModelError(f"manifest prior.weights must all be positive; the smallest is {float(weights.min())!r}")
        if abs(weights.sum() - 1) > WEIGHT_SUM_TOLERANCE:
            raise ModelError(
                f"manifest prior.weights must sum to 1 (within {WEIGHT_SUM_TOLERANCE:g}); they sum to {float(weights.sum())!r}"
            )
        shape = f"[K, latent_dim] = [{components}, {latent_dim}] (K from prior.weights, latent_dim from the manifest)"
        means = json_numbers(
            section.get("means"),
            "prior.means",
            (components, latent_dim),
            f"a K x latent_dim list of lists, shape {shape}",
        )
        logvars = json_numbers(
            section.get("logvars"),
            "prior.logvars",
            (components, latent_dim),
            f"a K x latent_dim list of lists, shape {shape}",
        )
        return cls(weights, means, logvars, section["description"])

    @property
    def components(self) -> int:
        return len(self.weights)

    @property
    def latent_dim(self) -> int:
        return self.means.shape[1]

    @property
    def is_standard_normal(self) -> bool:
        return self.components == 1 and not self.means.any() and not self.logvars.any()

    def _latents(self, z) -> tuple[np.ndarray, bool]:
        array = np.asarray(z, dtype=np.float64)
        if array.ndim not in (1, 2) or array.shape[-1] != self.latent_dim:
            raise InputError(
                f"z must have shape [N, {self.latent_dim}] or [{self.latent_dim}]; got {list(array.shape)}"
            )
        return array.reshape(-1, self.latent_dim), array.ndim == 1

    def log_prob(self, z) -> np.ndarray:
        """log p(z), float64 ``[N]`` for ``z [N, D]`` (a float for one vector ``[D]``), by a stable logsumexp."""
        batch, single = self._latents(z)
        per_component = gaussian_log_prob(batch[:, None, :], self.means[None], self.logvars[None])  # [N, K]
        per_component += np.log(self.weights)
        top = per_component.max(axis=1, keepdims=True)
        result = (top + np.log(np.exp(per_component - top).sum(axis=1, keepdims=True)))[:, 0]
        return float(result[0]) if single else result

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` latent vectors, float32 ``[n, D]``: a component drawn by weight, then mean + sigma * eps.

        With a single component no component is drawn, so N(0, I) gives exactly
        ``rng.standard_normal((n, D), dtype=float32)``.
        """
        n = count(n, "n")
        if not isinstance(rng, np.random.Generator):
            raise InputError(
                f"rng must be a numpy Generator (numpy.random.default_rng(seed)); got {type(rng).__name__}"
            )
        picks = (
            np.zeros(n, dtype=np.int64) if self.components == 1 else rng.choice(self.components, size=n, p=self.weights)
        )
        eps = rng.standard_normal((n, self.latent_dim), dtype=np.float32)
        return (self.means[picks] + np.exp(0.5 * self.logvars[picks]) * eps).astype(np.float32)

    def mean(self) -> np.ndarray:
        """The mixture's mean, float64 ``[D]``: the weighted mean of the component means."""
        return self.weights @ self.means

    def to_manifest(self) -> dict:
        """The manifest's ``prior`` section for this mixture."""
        return {
            "type": MIXTURE_TYPE,
            "weights": self.weights.tolist(),
            "means": self.means.tolist(),
            "logvars": self.logvars.tolist(),
            "description": self.description,
        }
