"""Numbers read from the manifest's JSON, checked as JSON sees them: ``true`` is no number, and a
whole number may be written ``10`` or ``10.0`` (the browser's JSON reader cannot tell them apart,
so neither runtime does); and bytes, which the manifest holds as base64 text."""

import base64
import binascii
import math
import numbers

import numpy as np

from vaeport.runtime.errors import ModelError


def is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def is_finite_number(value) -> bool:
    """A JSON number that float64 holds: an integer literal too large for it counts as infinite."""
    try:
        return is_number(value) and math.isfinite(value)
    except OverflowError:
        return False


def is_count(value, minimum: int = 1) -> bool:
    """A whole number of at least ``minimum``."""
    return is_finite_number(value) and value == int(value) and value >= minimum


def is_vector(value, length: int) -> bool:
    """A list of ``length`` finite numbers."""
    return isinstance(value, list) and len(value) == length and all(map(is_finite_number, value))


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
    try:
        array = np.asarray(value, dtype=np.float64)
    except OverflowError:
        array = np.array([np.inf])
    if not np.isfinite(array).all():
        raise ModelError(f"manifest {key} must hold finite numbers; it holds NaN, infinity or a number too large")
    return array


def json_bytes(value, key: str, size: int, expected: str) -> np.ndarray:
    """The manifest's ``key``, base64 text, as ``size`` uint8 bytes."""
    try:
        data = np.frombuffer(base64.b64decode(value, validate=True), dtype=np.uint8)
    except (TypeError, ValueError, binascii.Error):
        raise ModelError(f"manifest {key} must be base64 text of {expected}; got {str(value)[:40]!r}") from None
    if data.size != size:
        raise ModelError(f"manifest {key} holds {data.size} bytes; expected {size}, {expected}")
    return data
