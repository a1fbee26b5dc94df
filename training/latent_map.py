"""The latent map's plane and points, chosen at export and stored in the manifest's ``map`` section.

The plane is Fisher's linear discriminant of the test digits' mu: the two directions along which
the ten digits' means spread most against how much each digit spreads around its own mean, which
shows the digits apart better than the plane of most variance (docs/experiments.md measures both).
Its two directions are made orthonormal, so the map is an orthogonal projection: a point of the
map and the part of z the map does not show together give back z exactly.

The points are the test digits' mu, ordered by digit, each dimension stored as one byte over its
range: the map draws them in any plane, the discriminant one or two latent dimensions.
"""

import base64

import numpy as np

from vaeport.contract import DIGITS
from vaeport.runtime.latent_map import LEVELS
from vaeport.training.errors import ExportError

DESCRIPTION = (
    "Fisher's discriminant plane of the test digits' mu: the two orthonormal directions along which "
    "the ten digits' means spread most against each digit's own spread"
)
REGULARISATION = 1e-9  # of the mean within-digit spread, so that a dimension with no spread still inverts


def discriminant_plane(mu: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Orthonormal ``[2, D]``: the plane spanned by the two leading directions of Fisher's discriminant."""
    centred = mu.astype(np.float64) - mu.mean(axis=0)
    within = np.zeros((mu.shape[1],) * 2)
    between = np.zeros_like(within)
    for digit in DIGITS:
        members = centred[labels == digit]
        if len(members) < 2:
            raise ExportError(
                f"the latent map needs at least two test digits of each class; {digit} has {len(members)}"
            )
        mean = members.mean(axis=0)
        within += (members - mean).T @ (members - mean)
        between += len(members) * np.outer(mean, mean)
    # The directions maximising between / within spread: eigenvectors of within^-1 between, found
    # symmetrically through the Cholesky factor of within.
    within += REGULARISATION * max(np.trace(within) / len(within), 1.0) * np.eye(len(within))
    factor = np.linalg.cholesky(within)
    inverse = np.linalg.inv(factor)
    values, vectors = np.linalg.eigh(inverse @ between @ inverse.T)
    directions = inverse.T @ vectors[:, np.argsort(values)[::-1][:2]]
    axes, _ = np.linalg.qr(directions)
    return _oriented(axes.T)


def _oriented(axes: np.ndarray) -> np.ndarray:
    """Each axis with its largest component positive, so that the same plane always draws the same way round."""
    signs = np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])
    return axes * signs[:, None]


def map_section(mu: np.ndarray, labels: np.ndarray) -> dict | None:
    """The manifest's ``map`` section for the test digits' ``mu [N, D]`` and their ``labels [N]``;
    None for a latent space of one dimension, which has no plane."""
    if mu.shape[1] < 2:
        return None
    order = np.argsort(labels, kind="stable")
    points, counts = mu[order].astype(np.float64), np.bincount(labels, minlength=len(DIGITS))
    low, high = points.min(axis=0), points.max(axis=0)
    steps = np.rint((points - low) / np.where(high > low, high - low, 1.0) * LEVELS).astype(np.uint8)
    return {
        "description": DESCRIPTION,
        "centre": mu.astype(np.float64).mean(axis=0).tolist(),
        "axes": discriminant_plane(mu, labels).tolist(),
        "points": {
            "per_digit": counts.tolist(),
            "low": low.tolist(),
            "high": high.tolist(),
            "mu": base64.b64encode(steps.tobytes()).decode("ascii"),
        },
    }
