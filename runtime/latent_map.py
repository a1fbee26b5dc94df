"""The latent map: a plane of latent space and the test digits' posterior means, from the manifest.

The manifest's ``map`` section (written at export)::

    "map": {"description": "...", "centre": [D], "axes": [[D], [D]],
            "points": {"per_digit": [10 counts], "low": [D], "high": [D], "mu": "<base64>"}}

``axes`` are two orthonormal directions, so that the map is an orthogonal projection: a point
``xy = axes @ (z - centre)``, and :meth:`LatentMap.place` moves z so that its projection lands on
a given point while the part of z the map does not show stays as it was. ``points.mu`` holds
the test digits' mu ordered by digit (``per_digit[k]`` of digit k), one byte per dimension over
``[low, high]``: ``low + byte / 255 * (high - low)``. The map can also be drawn in the plane of
any two latent dimensions, whose axes are rows of the identity.
"""

import numpy as np

from vaeport.contract import DIGITS
from vaeport.runtime.errors import InputError, ModelError
from vaeport.runtime.json_numbers import is_count, json_bytes, json_numbers

LEVELS = 255  # a point's coordinate is stored as one byte over its dimension's range
ORTHONORMAL_TOLERANCE = 1e-6


class LatentMap:
    """The plane (``centre [D]``, orthonormal ``axes [2, D]``) and the test digits' mu ``[N, D]`` with their digits ``[N]``."""

    def __init__(self, centre: np.ndarray, axes: np.ndarray, points: np.ndarray, digits: np.ndarray, description: str):
        self.centre, self.axes, self.points, self.digits, self.description = centre, axes, points, digits, description

    @classmethod
    def from_manifest(cls, manifest: dict) -> "LatentMap | None":
        """The manifest's ``map`` section, checked; None when the manifest has none."""
        if "map" not in manifest:
            return None
        section, latent_dim = manifest["map"], manifest["latent_dim"]
        if not isinstance(section, dict):
            raise ModelError(
                f"manifest map must be an object with description, centre, axes and points; got {section!r:.80}"
            )
        if not isinstance(section.get("description"), str):
            raise ModelError(f"manifest map.description must be a string; got {section.get('description')!r:.80}")
        vector = f"a list of latent_dim = {latent_dim} numbers"
        centre = json_numbers(section.get("centre"), "map.centre", (latent_dim,), vector)
        axes = json_numbers(
            section.get("axes"), "map.axes", (2, latent_dim), f"two lists of latent_dim = {latent_dim} numbers"
        )
        if np.abs(axes @ axes.T - np.eye(2)).max() > ORTHONORMAL_TOLERANCE:
            raise ModelError(
                f"manifest map.axes must be two orthonormal directions; their dot products are {np.round(axes @ axes.T, 6).tolist()}"
            )
        points = section.get("points")
        if not isinstance(points, dict):
            raise ModelError(
                f"manifest map.points must be an object with per_digit, low, high and mu; got {points!r:.80}"
            )
        per_digit = points.get("per_digit")
        if not (
            isinstance(per_digit, list)
            and len(per_digit) == len(DIGITS)
            and all(is_count(n, minimum=0) for n in per_digit)
        ):
            raise ModelError(
                f"manifest map.points.per_digit must be {len(DIGITS)} whole numbers, the points of each digit; got {per_digit!r:.80}"
            )
        low = json_numbers(points.get("low"), "map.points.low", (latent_dim,), vector)
        high = json_numbers(points.get("high"), "map.points.high", (latent_dim,), vector)
        if (low > high).any():
            raise ModelError(
                f"manifest map.points.low must not lie above map.points.high; it does in dimension {int(np.argmax(low > high))}"
            )
        count = int(sum(per_digit))
        steps = json_bytes(
            points.get("mu"),
            "map.points.mu",
            count * latent_dim,
            f"one byte per point and latent dimension: the {count} points that map.points.per_digit counts, of {latent_dim}",
        )
        mu = low + steps.reshape(count, latent_dim) / LEVELS * (high - low)
        return cls(
            centre, axes, mu, np.repeat(np.asarray(DIGITS), np.asarray(per_digit, dtype=int)), section["description"]
        )

    def project(self, z, axes=None) -> np.ndarray:
        """Map coordinates ``[..., 2]`` of latent vectors ``z [..., D]`` (in ``axes``, default the map's plane)."""
        axes = self.axes if axes is None else axes
        return (np.asarray(z, np.float64) - self.centre) @ axes.T

    def place(self, z, point, axes=None) -> np.ndarray:
        """``z [D]`` moved so that its projection is ``point [2]``; the part of z off the plane is unchanged."""
        axes = self.axes if axes is None else axes
        point = np.asarray(point, np.float64)
        if point.shape != (2,) or not np.isfinite(point).all():
            raise InputError(f"a map point must be two finite numbers; got {point.tolist()}")
        return np.asarray(z, np.float64) + (point - self.project(z, axes)) @ axes

    def dimension_axes(self, first: int, second: int) -> np.ndarray:
        """The axes ``[2, D]`` of the plane of latent dimensions ``first`` and ``second``."""
        latent_dim = len(self.centre)
        if not all(isinstance(i, int) and 0 <= i < latent_dim for i in (first, second)) or first == second:
            raise InputError(
                f"a plane of dimensions needs two different dimensions in 0..{latent_dim - 1}; got {first}, {second}"
            )
        return np.eye(latent_dim)[[first, second]]
