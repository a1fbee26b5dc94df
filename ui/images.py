"""Pixel conversions between the runtime's float images and what the page shows or receives.

The page receives every image at its true 28x28 size, as base64 of its grey bytes, and enlarges
it with CSS ``image-rendering: pixelated`` (nearest neighbour), so each pixel the model produced
is a crisp square, and an update costs about a kilobyte, not a file.
"""

import base64
import binascii
import math

import numpy as np
from PIL import Image

from vaeport.runtime.preprocess import MAX_CANVAS_SIDE
from vaeport.ui.errors import DemoInputError

# The drawing pad sends a square greyscale downsample of its canvas, one byte per pixel.
PAD_MIN_SIDE = 28
PAD_MAX_SIDE = 512


def to_uint8(image: np.ndarray) -> np.ndarray:
    """A float image in [0, 1] as uint8 pixels."""
    return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def grey_base64(image: np.ndarray) -> str:
    """A float greyscale image in [0, 1] as base64 of its uint8 pixels, row by row."""
    return base64.b64encode(to_uint8(image).tobytes()).decode("ascii")


def pad_pixels(payload: str) -> np.ndarray:
    """The pad's payload ``"<side>:<base64 of side*side bytes>"`` as uint8 ``[side, side]`` (ink bright)."""
    side_text, _, data = payload.partition(":")
    if not (side_text.isascii() and side_text.isdigit()) or not PAD_MIN_SIDE <= int(side_text) <= PAD_MAX_SIDE:
        raise DemoInputError(
            f"drawing pixels must start with the canvas side ({PAD_MIN_SIDE}..{PAD_MAX_SIDE}) and a colon; "
            f"got {side_text[:20]!r}"
        )
    side = int(side_text)
    if len(data) > 4 * math.ceil(side * side / 3):  # refused before it is decoded
        raise DemoInputError(f"a {side}x{side} drawing needs {side * side} bytes of pixels; got more")
    try:
        raw = base64.b64decode(data, validate=True)
    except binascii.Error:
        raise DemoInputError("drawing pixels must be base64 after the colon") from None
    if len(raw) != side * side:
        raise DemoInputError(f"a {side}x{side} drawing needs {side * side} bytes of pixels; got {len(raw)}")
    return np.frombuffer(raw, dtype=np.uint8).reshape(side, side)


def read_image(path) -> np.ndarray:
    """An uploaded image file as pixels for ``preprocess_drawing``: RGBA when it has transparency, else greyscale.

    The size is checked from the header before any pixel is decoded, so a small file that
    unpacks to an enormous image is refused instead of filling the server's memory. An image of
    32-bit floats (a TIFF, Pillow's mode "F") is read as its floats, which must lie in [0, 1]:
    Pillow's conversion to 8-bit would clip them, so that 0..1 became 0 or 1 of 255, a blank page.
    """
    too_large = f"at most {MAX_CANVAS_SIDE} pixels on a side are accepted"
    try:
        image = Image.open(path)
    except Image.DecompressionBombError:
        raise DemoInputError(f"the image is far too large; {too_large}") from None
    except OSError:
        raise DemoInputError("the file is not an image that can be read; send a PNG, JPEG or WebP") from None
    with image:
        width, height = image.size
        if max(width, height) > MAX_CANVAS_SIDE:
            raise DemoInputError(f"the image is {width}x{height} pixels; {too_large}")
        has_alpha = "A" in image.getbands() or "transparency" in image.info
        floats = image.mode == "F"
        try:
            pixels = (
                np.asarray(image, dtype=np.float32)
                if floats
                else np.asarray(image.convert("RGBA" if has_alpha else "L"))
            )
        except (OSError, ValueError):
            raise DemoInputError("the image file is damaged or in a form that cannot be decoded") from None
    if floats:
        _check_unit_floats(pixels)
    return pixels


def _check_unit_floats(pixels: np.ndarray) -> None:
    if not np.isfinite(pixels).all():
        raise DemoInputError("the image holds 32-bit float pixels that are NaN or infinite; expected values in [0, 1]")
    low, high = float(pixels.min()), float(pixels.max())
    if low < 0.0 or high > 1.0:
        raise DemoInputError(
            f"the image holds 32-bit float pixels from {low:g} to {high:g}; float images must hold values in [0, 1] "
            "(or send an 8-bit image)"
        )
