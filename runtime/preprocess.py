"""Drawings to MNIST-style digits, with numpy alone.

The MNIST recipe: the digit's bounding box is scaled, keeping its aspect ratio and with
anti-aliasing, so that its longer side is 20 px; that box is then placed in a 28x28 field so
that its centre of mass sits at the centre. Ink is white on black, in [0, 1]: the encoder was
trained on exactly such images, so a drawing must be brought to them before it is encoded.
"""

import math

import numpy as np

from vaeport.contract import IMAGE_SHAPE
from vaeport.runtime.arrays import numeric_array, unit_interval
from vaeport.runtime.errors import EmptyDrawingError, InputError

FIELD = IMAGE_SHAPE[1]  # 28
DIGIT_BOX = 20
INK_THRESHOLD = 0.1  # a drawing whose strongest ink stands out from the background by less is empty
# Pixels this faint (after the strongest ink is scaled to 1) are left out of the bounding box.
# MNIST's own digits have anti-aliased rims down to 1/255 that belong in the box: at 0.1 the box
# of one test digit in ten shrank by a pixel and moved its mu by up to 3 standard deviations.
FAINT = 0.02
MAX_CANVAS_SIDE = 4096
CENTRE_GRID = 65536  # the centre of mass is settled to 1/65536 pixel before the whole-pixel shift
INK_CHOICES = ("auto", "dark", "light")
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601, as Pillow's convert("L")


def _area_weights(size_in: int, size_out: int) -> np.ndarray:
    """``[size_out, size_in]``: the share of each input pixel in each output pixel's footprint.

    Each output pixel averages the input area it covers, which is what anti-aliased
    downscaling needs (no input pixel is skipped); rows sum to 1.
    """
    edges = np.arange(size_out + 1) * (size_in / size_out)  # output pixel borders in input pixel units
    starts = np.arange(size_in)
    overlap = np.minimum(edges[1:, None], starts[None, :] + 1) - np.maximum(edges[:-1, None], starts[None, :])
    overlap = np.clip(overlap, 0.0, None)
    return (overlap / overlap.sum(axis=1, keepdims=True)).astype(np.float32)


def resize_area(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize a 2-D float image to ``height`` x ``width`` by area averaging (a box filter)."""
    return _area_weights(image.shape[0], height) @ image @ _area_weights(image.shape[1], width).T


def _border(image: np.ndarray) -> np.ndarray:
    return np.concatenate([image[0], image[-1], image[1:-1, 0], image[1:-1, -1]])


def _greyscale(pixels: np.ndarray, ink: str) -> tuple[np.ndarray, str]:
    """One channel in [0, 1] and the ink polarity (``dark`` or ``light``), ``auto`` decided.

    Transparent pixels of an RGBA canvas are background: the painted pixels' brightness says
    whether the ink is dark or light, and the canvas is composited over the opposite colour.
    Otherwise the border, where people rarely draw, is the background.
    """
    if pixels.ndim == 2:
        grey = pixels
    else:
        grey = pixels[..., :3] @ LUMA if pixels.shape[-1] >= 3 else pixels[..., 0]
        alpha = pixels[..., 3] if pixels.shape[-1] == 4 else None
        if alpha is not None and alpha.min() < 1.0:
            if alpha.max() == 0.0:
                raise EmptyDrawingError("the drawing is empty: every pixel of the canvas is fully transparent")
            if ink == "auto":
                ink = "dark" if float((grey * alpha).sum() / alpha.sum()) < 0.5 else "light"
            background = 1.0 if ink == "dark" else 0.0
            grey = grey * alpha + background * (1.0 - alpha)
    if ink == "auto":
        ink = "dark" if float(np.median(_border(grey))) > 0.5 else "light"
    return grey, ink


def _canvas_pixels(canvas) -> np.ndarray:
    array = numeric_array(canvas, "canvas")
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (1, 3, 4))):
        raise InputError(
            f"canvas must have shape [H, W] (greyscale), [H, W, 1], [H, W, 3] (RGB) or [H, W, 4] (RGBA); "
            f"got {list(array.shape)}"
        )
    height, width = array.shape[:2]
    if min(height, width) < 1 or max(height, width) > MAX_CANVAS_SIDE:
        raise InputError(f"canvas is {width}x{height} px; expected between 1 and {MAX_CANVAS_SIDE} px on each side")
    return unit_interval(array, "canvas")


def _settle(centre: float) -> float:
    """``centre`` to the nearest 1/65536 pixel, far finer than any real drawing but coarser than float noise.

    A symmetric drawing (a straight "1") has its centre of mass exactly on a half pixel, where
    rounding to a whole shift is a coin toss decided by float rounding noise in the sums, and the
    browser runtime sums in another order. Settled first, both make the same whole shift.
    """
    return math.floor(centre * CENTRE_GRID + 0.5) / CENTRE_GRID


def preprocess_drawing(canvas, ink: str = "auto") -> np.ndarray:
    """A drawing of any size -> a float32 ``[28,28]`` MNIST-style digit in [0, 1], white on black.

    ``canvas``: greyscale ``[H,W]`` or ``[H,W,1]``, RGB ``[H,W,3]`` or RGBA ``[H,W,4]``; uint8
    0..255 or float in [0, 1]. ``ink``: ``"dark"`` for dark strokes on a light background,
    ``"light"`` for light strokes on a dark one, ``"auto"`` to decide from the canvas.
    The background level is taken from the border and removed, and the strongest ink is
    scaled to 1. Raises :class:`EmptyDrawingError` when nothing stands out from the background.
    """
    if ink not in INK_CHOICES:
        raise InputError(f"ink must be one of {list(INK_CHOICES)}; got {ink!r}")
    grey, polarity = _greyscale(_canvas_pixels(canvas), ink)
    strokes = 1.0 - grey if polarity == "dark" else grey
    background = float(np.median(_border(strokes)))
    strokes = np.clip(strokes - background, 0.0, None)
    contrast = float(strokes.max())
    if contrast < INK_THRESHOLD:
        judged = " (judged from the canvas)" if ink == "auto" else ""
        raise EmptyDrawingError(
            f"the drawing is empty: no pixel stands out from the background by more than {INK_THRESHOLD} "
            f'with ink="{polarity}"{judged}; draw a digit, or pass the other ink if the strokes are there'
        )
    strokes /= contrast

    rows = np.flatnonzero((strokes > FAINT).any(axis=1))
    cols = np.flatnonzero((strokes > FAINT).any(axis=0))
    digit = strokes[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    scale = DIGIT_BOX / max(digit.shape)
    height, width = (max(1, int(np.floor(side * scale + 0.5))) for side in digit.shape)
    digit = resize_area(digit, height, width)

    # Integer shifts put the centre of mass at pixel index (14, 14), staying inside the field:
    # that is where it lies in MNIST (the test digits' mean is (13.99, 14.01), spread 0.3 px).
    mass = digit.sum()
    centre_row = _settle(float((digit.sum(axis=1) * np.arange(height)).sum() / mass))
    centre_col = _settle(float((digit.sum(axis=0) * np.arange(width)).sum() / mass))
    top = int(np.clip(np.floor(FIELD / 2 - centre_row + 0.5), 0, FIELD - height))
    left = int(np.clip(np.floor(FIELD / 2 - centre_col + 0.5), 0, FIELD - width))
    field = np.zeros((FIELD, FIELD), dtype=np.float32)
    field[top : top + height, left : left + width] = digit
    return np.clip(field, 0.0, 1.0)
