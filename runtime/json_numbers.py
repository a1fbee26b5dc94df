"""Arrays of numbers read from the manifest's JSON, checked as JSON sees them (``true`` is no number)."""

import numbers

import numpy as np

from vaeport.runtime.errors import ModelError


def is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def json_numbers(value, key: str, shape: tuple[int, ...], expected: str) -> np.ndarray:
    """The manifest's ``key`` as float64 of exactly ``shape``: nested lists of finite numbers, nothing else."""

    def walk(item, depth):
        if depth == len(shape):
            return is_number(item)
        return isinstance(item, list) and len(item) == shape[depth] and all(walk(x, depth + 1) for x in item)

    if not walk(value, 0):
        try:
            got = f"shape {list(np.shape(value))}" if isinstance(value, list) else repr(value)[:80]
        except ValueError:  # ragged lists
            got = "lists of different lengths"
        raise ModelError(f"manifest {key} must be {expected}, numbers only; got {got}")
    array = np.asarray(value, dtype=np.float64)
    if not np.isfinite(array).all():
        raise ModelError(f"manifest {key} must hold finite numbers; it holds NaN or infinity")
    return array
