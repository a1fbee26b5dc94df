"""Checks and conversions of what callers pass in, each failure an ``InputError`` that says
what was wrong and what was expected.

Images become float32 in [0, 1]; latent vectors become float32; both must be finite.
"""

import math
import numbers

import numpy as np

from vaeport.contract import IMAGE_SHAPE
from vaeport.runtime.errors import InputError

IMAGE_SIDE = IMAGE_SHAPE[1:]


def numeric_array(value, name: str) -> np.ndarray:
    """``value`` as a numpy array of real numbers (bool, complex, text and objects refused)."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:  # ragged nested lists, objects numpy cannot hold
        raise InputError(f"{name} must be an array of numbers; numpy could not make one from it ({error})") from None
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise InputError(f"{name} must hold real numbers (uint8, int or float); got an array of dtype {array.dtype}")
    return array


def _require_finite(array: np.ndarray, name: str) -> None:
    bad = ~np.isfinite(array)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InputError(
            f"{name} contains {int(bad.sum())} NaN or infinite value(s), the first at index {first}; expected finite numbers"
        )


def unit_interval(array: np.ndarray, name: str) -> np.ndarray:
    """Pixels as float32 in [0, 1]: uint8 is divided by 255, floats must already lie in [0, 1]."""
    if array.dtype == np.uint8:
        return array.astype(np.float32) / np.float32(255.0)
    if not np.issubdtype(array.dtype, np.floating):
        raise InputError(
            f"{name} must be uint8 (0..255) or float (0.0..1.0); got dtype {array.dtype}: "
            "convert with .astype(np.uint8) or divide by 255 first"
        )
    _require_finite(array, name)
    low, high = float(array.min()), float(array.max())
    if low < 0.0 or high > 1.0:
        raise InputError(
            f"{name} holds floats from {low:g} to {high:g}; expected float pixels in [0, 1] (or uint8 pixels in 0..255)"
        )
    return array.astype(np.float32)


def image_batch(images, name: str = "images") -> tuple[np.ndarray, tuple[int, ...]]:
    """``[28,28]``, ``[N,28,28]`` or ``[N,1,28,28]`` pixels -> float32 ``[N,1,28,28]`` and the input's shape."""
    array = numeric_array(images, name)
    shape = array.shape
    if shape[-2:] != IMAGE_SIDE or array.ndim not in (2, 3, 4) or (array.ndim == 4 and shape[1] != 1):
        raise InputError(f"{name} must have shape [28, 28], [N, 28, 28] or [N, 1, 28, 28]; got {list(shape)}")
    if array.size == 0:
        raise InputError(f"{name} is an empty batch (shape {list(shape)}); pass at least one image")
    return unit_interval(array, name).reshape(-1, *IMAGE_SHAPE), shape


def _is_ready_latent(z, latent_dim: int) -> bool:
    """A finite float32 ``[D]`` or ``[N,D]`` array, the common case, recognised in about 2 us.

    A decode of one vector takes tens of microseconds, so the full checks below would be a
    large share of it; a finite sum proves every element finite (a NaN or inf anywhere makes
    the sum NaN or inf), and anything else takes the full path with its precise messages.
    """
    return (
        type(z) is np.ndarray
        and z.dtype == np.float32
        and z.ndim in (1, 2)
        and z.shape[-1] == latent_dim
        and z.size > 0
        and math.isfinite(z.sum())
    )


def latent_batch(z, latent_dim: int, name: str = "z") -> tuple[np.ndarray, bool]:
    """``[D]`` or ``[N,D]`` -> float32 ``[N,D]`` and whether a single vector came in."""
    if _is_ready_latent(z, latent_dim):
        return z.reshape(-1, latent_dim), z.ndim == 1
    array = numeric_array(z, name)
    if array.ndim not in (1, 2) or array.shape[-1] != latent_dim:
        raise InputError(
            f"{name} must have shape [{latent_dim}] or [N, {latent_dim}] (this model's latent_dim is {latent_dim}); "
            f"got {list(array.shape)}"
        )
    if array.size == 0:
        raise InputError(f"{name} is an empty batch (shape {list(array.shape)}); pass at least one latent vector")
    with np.errstate(over="ignore"):
        array = array.astype(np.float32)  # float64 beyond float32's range becomes inf and is refused below
    _require_finite(array, name)
    return array.reshape(-1, latent_dim), array.ndim == 1


def count(value, name: str, minimum: int = 1) -> int:
    """A whole number of at least ``minimum`` (numpy integers accepted, bools and floats refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InputError(f"{name} must be a whole number of at least {minimum}; got {value!r}")
    return int(value)


def random_generator(seed) -> np.random.Generator:
    """A fresh generator per call, so concurrent calls share no random state."""
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as error:
        raise InputError(
            f"seed must be None, a non-negative whole number or a numpy Generator; got {seed!r} ({error})"
        ) from None
