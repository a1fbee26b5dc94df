"""The demo's event handlers on the real runtime and shipped model, called directly (no server).

What the page shows is read back from the handlers' HTML (inline PNGs) and compared with
what the runtime computes for the same latent values, pixel for pixel.
"""

import base64
import io
import re

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from vaeport.runtime import preprocess_drawing
from vaeport.ui.handlers import MORPH_STEPS, STEP, DemoHandlers
from vaeport.ui.images import to_uint8

PAD_SIDE = 112


@pytest.fixture(scope="module")
def handlers(vae):
    return DemoHandlers(vae)


def images_in(html: str) -> list[np.ndarray]:
    """The pixels of every inline PNG in ``html``."""
    images = []
    for data in re.findall(r'src="data:image/png;base64,([^"]+)"', html):
        with Image.open(io.BytesIO(base64.b64decode(data))) as image:
            images.append(np.asarray(image.convert("L")))
    return images


def shown_digit(value: dict) -> np.ndarray:
    """The pixels the page's digit canvas is painted from."""
    return np.frombuffer(base64.b64decode(value["pixels"]), dtype=np.uint8).reshape(28, 28)


def decoded(vae, values) -> np.ndarray:
    return to_uint8(vae.decode(np.asarray(values, dtype=np.float32)))


def seven(side: int = PAD_SIDE) -> np.ndarray:
    """A drawn 7, white strokes on black, as the pad sends it."""
    canvas = np.zeros((side, side), np.uint8)
    for t in np.linspace(0, 1, 400):
        for row, col in ((0.2, 0.25 + 0.5 * t), (0.2 + 0.6 * t, 0.75 - 0.3 * t)):
            r, c = int(row * side), int(col * side)
            canvas[r - 4 : r + 4, c - 4 : c + 4] = 255
    return canvas


def payload(canvas: np.ndarray) -> str:
    return f"{canvas.shape[0]}:" + base64.b64encode(canvas.tobytes()).decode()


def assert_on_sliders(handlers, values):
    assert len(values) == handlers.latent_dim
    for value, low, high in zip(values, handlers.minimum, handlers.maximum):
        assert low <= value <= high
        assert value == round(value, 2)


def test_slider_ranges_hold_every_test_digits_mu(handlers, vae):
    stats = vae.manifest["latent_stats"]
    assert len(handlers.minimum) == len(handlers.maximum) == vae.latent_dim
    for low, high, mu_min, mu_max in zip(handlers.minimum, handlers.maximum, stats["min"], stats["max"]):
        assert mu_min - STEP < low <= mu_min
        assert mu_max <= high < mu_max + STEP


def test_values_set_from_code_are_clipped_to_the_sliders_and_rounded_to_their_step(handlers):
    d = handlers.latent_dim
    assert handlers.slider_values([100.0] * d) == handlers.maximum
    assert handlers.slider_values([-100.0] * d) == handlers.minimum
    assert handlers.slider_values([0.123456] * d) == [0.12] * d


def test_a_slider_move_shows_the_digit_decoded_from_the_sliders(handlers, vae):
    values = [round(0.3 * (-1) ** i * (i % 4), 2) for i in range(vae.latent_dim)]
    shown = handlers.on_slide(*values)
    np.testing.assert_array_equal(shown_digit(shown), decoded(vae, values))
    assert vae.providers[0] in shown["status"] and "last decode" in shown["status"]
    assert shown_digit(handlers.on_slide(*[0.0] * vae.latent_dim)).tolist() != shown_digit(shown).tolist()


@pytest.mark.parametrize(
    "bad, message",
    [(99.0, r"z0 must lie in \[-?\d"), (float("nan"), "z0 must lie in"), ("1", "z0 must be a number"), (None, "z0 must be a number")],
)
def test_latent_values_out_of_range_or_not_numbers_are_refused_by_name(handlers, bad, message):
    with pytest.raises(gr.Error, match=message):
        handlers.api_decode(bad, *[0.0] * (handlers.latent_dim - 1))


def test_a_stroke_puts_mu_of_what_the_encoder_sees_on_the_sliders(handlers, vae):
    canvas = seven()
    *values, digit, view_html = handlers.on_draw(payload(canvas))
    seen = preprocess_drawing(canvas, ink="light")
    mu, _ = vae.encode(seen)
    assert values == handlers.slider_values(mu)
    np.testing.assert_array_equal(shown_digit(digit), decoded(vae, values))
    (view,) = images_in(view_html)
    np.testing.assert_array_equal(view, to_uint8(seen))


def test_a_drawing_of_any_allowed_size_is_encoded(handlers):
    for side in (28, 300):
        *values, _, _ = handlers.on_draw(payload(seven(side)))
        assert_on_sliders(handlers, values)


@pytest.mark.parametrize("empty", ["", payload(np.zeros((PAD_SIDE, PAD_SIDE), np.uint8))])
def test_a_cleared_or_blank_pad_empties_the_view_and_keeps_the_sliders(handlers, empty):
    *kept, view_html = handlers.on_draw(empty)
    assert kept == [gr.skip()] * (handlers.latent_dim + 1)
    assert images_in(view_html) == [] and "draw a digit" in view_html


@pytest.mark.parametrize(
    "bad, message",
    [
        ("hello", "canvas side"),
        ("9999:AAAA", "canvas side"),
        ("112:not base64!", "base64"),
        ("112:" + base64.b64encode(b"\0" * 100).decode(), "needs 12544 bytes"),
    ],
)
def test_malformed_pad_pixels_get_a_clear_error(handlers, bad, message):
    with pytest.raises(gr.Error, match=message):
        handlers.on_draw(bad)


class TileClick(gr.EventData):
    def __init__(self, data):
        super().__init__(None, data)


def test_each_tile_click_draws_a_new_sample_near_its_example(handlers, vae):
    for digit in (0, 7):
        example = vae.manifest["examples"][digit]
        sigma = np.exp(0.5 * np.asarray(example["logvar"]))
        first, second = handlers.on_tile(TileClick({"digit": digit})), handlers.on_tile(TileClick({"digit": digit}))
        assert first[:-1] != second[:-1]
        for *values, digit in (first, second):
            assert_on_sliders(handlers, values)
            assert np.all(np.abs(np.asarray(values) - example["mu"]) <= 5 * sigma + STEP)
            np.testing.assert_array_equal(shown_digit(digit), decoded(vae, values))


@pytest.mark.parametrize("data", [{"digit": 10}, {"digit": "3"}, {}, None])
def test_a_forged_tile_click_is_refused(handlers, data):
    with pytest.raises(gr.Error, match="digit must be a whole number from 0 to 9"):
        handlers.on_tile(TileClick(data))


def test_prior_sample_and_reset_set_every_slider_and_the_digit(handlers, vae):
    *values, digit = handlers.on_prior()
    assert_on_sliders(handlers, values)
    np.testing.assert_array_equal(shown_digit(digit), decoded(vae, values))
    *zeros, zero = handlers.on_reset()
    assert zeros == [0.0] * vae.latent_dim
    np.testing.assert_array_equal(shown_digit(zero), decoded(vae, zeros))
    *initial, initial_digit = handlers.initial()
    assert initial == zeros
    np.testing.assert_array_equal(shown_digit(initial_digit), shown_digit(zero))


def test_the_tiles_show_the_reconstructions_of_the_manifest_examples(handlers, vae):
    html = handlers.tiles()
    assert re.findall(r'data-digit="(\d)"', html) == [str(digit) for digit in range(10)]
    mu = [example["mu"] for example in vae.manifest["examples"]]
    np.testing.assert_array_equal(np.stack(images_in(html)), decoded(vae, mu))


def test_the_morph_strip_runs_from_one_example_to_the_other(handlers, vae):
    frames = images_in(handlers.on_morph(3, 8))
    assert len(frames) == MORPH_STEPS
    examples = vae.manifest["examples"]
    np.testing.assert_array_equal(frames[0], decoded(vae, examples[3]["mu"]))
    np.testing.assert_array_equal(frames[-1], decoded(vae, examples[8]["mu"]))
    with pytest.raises(gr.Error, match="second digit must be a whole number from 0 to 9"):
        handlers.on_morph(3, 11)


def test_api_decode_returns_the_28x28_digit(handlers, vae):
    values = [0.5] * vae.latent_dim
    image = handlers.api_decode(*values)
    assert image.dtype == np.uint8 and image.shape == (28, 28)
    np.testing.assert_array_equal(image, decoded(vae, values))


def test_api_sample_is_reproducible_with_a_seed(handlers, vae):
    first, again, other = handlers.api_sample(4, 11), handlers.api_sample(4, 11), handlers.api_sample(4, 12)
    assert first[:-1] == again[:-1] != other[:-1]
    np.testing.assert_array_equal(first[-1], decoded(vae, first[:-1]))


@pytest.mark.parametrize("digit", [-1, 10, 2.5, "3", True, None])
def test_api_sample_refuses_digits_outside_0_to_9(handlers, digit):
    with pytest.raises(gr.Error, match="digit must be a whole number from 0 to 9"):
        handlers.api_sample(digit, 0)


def test_api_sample_refuses_a_bad_seed_with_the_runtimes_message(handlers):
    with pytest.raises(gr.Error, match="seed must be"):
        handlers.api_sample(3, -5)


def test_api_encode_reads_images_as_drawings(handlers, vae, tmp_path):
    canvas = seven(280)
    expected_mu, _ = vae.encode(preprocess_drawing(canvas, ink="light"))
    dark_on_light = tmp_path / "dark.png"
    Image.fromarray(255 - canvas).convert("RGB").save(dark_on_light)
    transparent = tmp_path / "transparent.png"
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[..., 3] = canvas  # black ink on a transparent background
    Image.fromarray(rgba, mode="RGBA").save(transparent)
    for path in (dark_on_light, transparent):
        *values, image = handlers.api_encode(str(path))
        np.testing.assert_allclose(values, expected_mu, atol=0.05)
        np.testing.assert_array_equal(image, decoded(vae, values))


@pytest.mark.parametrize("mode, suffix", [("1", "png"), ("P", "gif"), ("I;16", "png"), ("LA", "png"), ("CMYK", "tiff")])
def test_api_encode_reads_odd_image_modes_like_plain_greyscale(handlers, tmp_path, mode, suffix):
    plain, odd = tmp_path / "plain.png", tmp_path / f"odd.{suffix}"
    drawing = Image.fromarray(seven(200))
    drawing.save(plain)
    drawing.convert(mode).save(odd)
    np.testing.assert_allclose(handlers.api_encode(str(odd))[:-1], handlers.api_encode(str(plain))[:-1], atol=0.02)


def test_api_encode_explains_what_is_wrong_with_an_image(handlers, tmp_path):
    blank, text, huge, cut = (tmp_path / name for name in ("blank.png", "notes.png", "huge.png", "cut.png"))
    Image.new("L", (100, 100), 255).save(blank)
    text.write_text("not an image")
    Image.new("1", (5000, 10)).save(huge)
    cut.write_bytes(blank.read_bytes()[:60])  # a PNG cut off after its header
    for path, message in (
        (blank, "the drawing is empty"),
        (text, "not an image"),
        (huge, "5000x10 pixels"),
        (cut, "damaged"),
    ):
        with pytest.raises(gr.Error, match=message):
            handlers.api_encode(str(path))
    with pytest.raises(gr.Error, match="no image was sent"):
        handlers.api_encode(None)
