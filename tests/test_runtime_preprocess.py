"""preprocess_drawing on drawings made in the test: scaling, centring, polarity, channels, empty and bad canvases."""

import numpy as np
import pytest

from vaeport.runtime import EmptyDrawingError, InputError, preprocess_drawing
from vaeport.runtime.preprocess import resize_area


def centre_of_mass(image):
    rows, cols = np.indices(image.shape)
    return (rows * image).sum() / image.sum(), (cols * image).sum() / image.sum()


def ink_box(image, threshold=0.1):
    rows = np.flatnonzero((image > threshold).any(axis=1))
    cols = np.flatnonzero((image > threshold).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def test_area_resize_averages_the_pixels_each_output_pixel_covers():
    rng = np.random.default_rng(0)
    image = rng.random((40, 60)).astype(np.float32)
    half = resize_area(image, 20, 30)
    np.testing.assert_allclose(half, image.reshape(20, 2, 30, 2).mean(axis=(1, 3)), atol=1e-6)
    third = resize_area(image, 20, 20)  # 2 x 3 blocks
    np.testing.assert_allclose(third, image.reshape(20, 2, 20, 3).mean(axis=(1, 3)), atol=1e-6)
    # non-integer factors keep the mean brightness and a constant image constant
    odd = resize_area(image, 17, 23)
    assert odd.shape == (17, 23)
    assert abs(odd.mean() - image.mean()) < 1e-3
    np.testing.assert_allclose(resize_area(np.full((37, 91), 0.3, np.float32), 20, 9), 0.3, atol=1e-6)


def test_a_thin_line_is_kept_grey_not_skipped():
    """Anti-aliasing: a 1 px seam in a 160 px square shrunk 8-fold darkens one row to 7/8, where point
    sampling would either drop the seam (1.0) or cut the square in two (0.0)."""
    canvas = np.zeros((200, 200), np.float32)
    canvas[20:180, 20:180] = 1.0
    canvas[100, 20:180] = 0.0
    digit = preprocess_drawing(canvas)
    assert ink_box(digit) == (20, 20)
    np.testing.assert_allclose(np.unique(digit[digit > 0]), [7 / 8, 1.0], atol=1e-5)


@pytest.mark.parametrize("height, width, top, left", [(300, 120, 10, 200), (40, 200, 250, 5), (12, 7, 3, 390)])
def test_the_longer_side_becomes_20px_and_the_centre_of_mass_the_middle(height, width, top, left):
    canvas = np.zeros((400, 400), np.uint8)
    canvas[top : top + height, left : left + width] = 255
    digit = preprocess_drawing(canvas)
    assert digit.shape == (28, 28) and digit.dtype == np.float32
    box = ink_box(digit)
    assert max(box) == 20
    assert abs(min(box) - round(20 * min(height, width) / max(height, width))) <= 1  # aspect ratio kept
    np.testing.assert_allclose(centre_of_mass(digit), (14, 14), atol=0.5)


def test_a_top_heavy_digit_is_shifted_but_never_cut_off():
    figure = np.zeros((100, 100), np.float32)
    figure[:10] = 1.0  # a heavy bar on top puts the centre of mass near the box's top edge ...
    figure[10:, 50] = 1.0  # ... above a thin stem
    canvas = np.zeros((200, 200), np.float32)
    canvas[50:150, 50:150] = figure
    digit = preprocess_drawing(canvas)
    assert ink_box(digit) == (20, 20)
    np.testing.assert_allclose(digit.sum(), resize_area(figure, 20, 20).sum(), rtol=1e-4)


def stroke_canvas(size=280):
    """A light-on-dark greyscale drawing of a slanted stroke and a hook, float in [0, 1]."""
    canvas = np.zeros((size, size), np.float32)
    rows = np.arange(60, 230)
    for width in range(-6, 7):
        canvas[rows, np.clip(rows // 2 + 70 + width, 0, size - 1)] = 1.0
    canvas[60:75, 100:200] = 1.0
    return canvas


def test_polarity_and_channels_give_the_same_digit():
    light = stroke_canvas()
    reference = preprocess_drawing(light)
    dark = 1.0 - light

    def as_uint8(a):
        return np.round(a * 255).astype(np.uint8)

    variants = {
        "grey uint8": as_uint8(light),
        "grey [H,W,1]": light[..., None],
        "dark on light": dark,
        "dark on light, ink given": (dark, "dark"),
        "RGB dark on light": as_uint8(np.dstack([dark] * 3)),
        "RGB blue on white": as_uint8(np.dstack([dark, dark, np.ones_like(dark)])),
        "RGBA opaque": as_uint8(np.dstack([dark] * 3 + [np.ones_like(dark)])),
        "RGBA black strokes on transparent": as_uint8(np.dstack([np.zeros_like(light)] * 3 + [light])),
        "RGBA white strokes on transparent": as_uint8(np.dstack([np.ones_like(light)] * 3 + [light])),
        "light on dark, ink given": (light, "light"),
    }
    for name, variant in variants.items():
        canvas, ink = variant if isinstance(variant, tuple) else (variant, "auto")
        np.testing.assert_allclose(preprocess_drawing(canvas, ink=ink), reference, atol=0.01, err_msg=name)


def test_a_grey_background_is_removed_and_faint_ink_stretched():
    paper = 0.8 - 0.5 * stroke_canvas()  # grey pencil on grey paper
    np.testing.assert_allclose(preprocess_drawing(paper), preprocess_drawing(stroke_canvas()), atol=0.01)


def test_the_wrong_ink_setting_finds_no_digit_and_says_which_was_used():
    with pytest.raises(EmptyDrawingError, match='with ink="light"; draw a digit, or pass the other ink'):
        preprocess_drawing(1.0 - stroke_canvas(), ink="light")


@pytest.mark.parametrize(
    "canvas",
    [
        np.zeros((280, 280), np.uint8),
        np.full((280, 280), 255, np.uint8),
        np.full((50, 70, 3), 0.5),
        np.zeros((280, 280, 4), np.uint8),
        np.random.default_rng(0).random((280, 280)) * 0.05,  # sensor noise, no strokes
    ],
    ids=["black", "white", "grey RGB", "transparent", "faint noise"],
)
def test_an_empty_canvas_is_reported_as_empty(canvas):
    with pytest.raises(EmptyDrawingError, match="empty") as caught:
        preprocess_drawing(canvas)
    assert isinstance(caught.value, InputError) and isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    "canvas, ink, message",
    [
        (np.zeros((10, 10, 2)), "auto", r"shape \[H, W\] .* got \[10, 10, 2\]"),
        (np.zeros((2, 10, 10, 3)), "auto", r"got \[2, 10, 10, 3\]"),
        (np.zeros((0, 10)), "auto", "between 1 and"),
        (np.zeros((5000, 3), np.uint8), "auto", "3x5000 px; expected between 1 and 4096"),
        (np.full((10, 10), 2.0), "auto", r"expected float pixels in \[0, 1\]"),
        (np.full((10, 10), np.nan), "auto", "NaN"),
        (np.full((10, 10), None, object), "auto", "dtype object"),
        (np.zeros((10, 10)), "white", r"ink must be one of \['auto', 'dark', 'light'\]; got 'white'"),
    ],
)
def test_bad_canvases_are_refused_with_what_was_expected(canvas, ink, message):
    with pytest.raises(InputError, match=message):
        preprocess_drawing(canvas, ink=ink)
