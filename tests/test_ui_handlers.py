"""What the demo computes on the server, on the real runtime and shipped model, called directly.

The page's server functions answer with base64 grey bytes, the API endpoints with PNG files;
both are read back and compared with what the runtime computes for the same latent values,
pixel for pixel.
"""

import base64
import re
import shutil
import tempfile
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from vaeport.runtime import preprocess_drawing
from vaeport.runtime.manifest import example_pixels
from vaeport.ui.gradio_internals import upload_folder
from vaeport.ui.handlers import ELBO_FIGURES, MORPH_ENDS, MORPH_STEPS, OPENING_DIGIT, STEP, DemoHandlers
from vaeport.ui.images import to_uint8
from vaeport.ui.page import PAD_SEND_SIDE


@pytest.fixture(scope="module")
def handlers(vae):
    return DemoHandlers(vae)


@pytest.fixture
def uploads():
    """A folder inside Gradio's upload folder, where the API reads images a client uploaded."""
    root = upload_folder()
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=root))
    yield folder
    shutil.rmtree(folder)


def grey(text: str) -> np.ndarray:
    """The 28x28 image behind the page's base64 grey bytes."""
    return np.frombuffer(base64.b64decode(text), dtype=np.uint8).reshape(28, 28)


def png(file: gr.FileData) -> np.ndarray:
    with Image.open(file.path) as image:
        return np.asarray(image.convert("L"))


def decoded(vae, values) -> np.ndarray:
    return to_uint8(vae.decode(np.asarray(values, dtype=np.float32)))


def seven(side: int = PAD_SEND_SIDE) -> np.ndarray:
    """A drawn 7, white strokes on black, as the pad sends it."""
    canvas = np.zeros((side, side), np.uint8)
    for t in np.linspace(0, 1, 400):
        for row, col in ((0.2, 0.25 + 0.5 * t), (0.2 + 0.6 * t, 0.75 - 0.3 * t)):
            r, c = int(row * side), int(col * side)
            canvas[r - 4 : r + 4, c - 4 : c + 4] = 255
    return canvas


def payload(canvas: np.ndarray) -> str:
    return f"{canvas.shape[0]}:" + base64.b64encode(canvas.tobytes()).decode()


def drawing(pixels, noise=None, latent_dim: int = 10) -> dict:
    """What the page sends for a drawing: the pad's pixels (a canvas, or text as sent) and the stroke's noise."""
    return {
        "pixels": payload(pixels) if isinstance(pixels, np.ndarray) else pixels,
        "noise": [0.0] * latent_dim if noise is None else noise,
    }


def example_image(vae, digit: int) -> np.ndarray:
    """An example's test digit, whose figures a tile's readout shows."""
    return example_pixels(vae.manifest["examples"][digit]).astype(np.float32) / 255


def assert_figures(figures: dict, vae, z, image=None):
    """The readout's figures are VAERuntime's at ``z``: the image's ELBO terms, or log p(z) alone."""
    z = np.asarray(z, dtype=np.float32)
    assert figures["z"] == z.tolist()
    if image is None:
        assert figures.keys() == {"log_pz", "z"}
        assert figures["log_pz"] == pytest.approx(vae.prior.log_prob(z), abs=1e-9)
        return
    expected = vae.elbo(image, z=z)
    assert figures.keys() == {*ELBO_FIGURES, "z"}
    for name in ELBO_FIGURES:
        assert figures[name] == pytest.approx(expected[name], abs=1e-9)


def assert_on_sliders(handlers, values):
    assert len(values) == handlers.latent_dim
    for value, low, high in zip(values, handlers.minimum, handlers.maximum):
        assert low <= value <= high
        assert value == round(value, 2)


# --- slider ranges and what a fresh page shows ---------------------------------------------


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


def test_a_fresh_page_opens_on_an_examples_mu_and_shows_the_examples_and_a_morph(handlers, vae):
    state = handlers.page_state()
    assert state["sliders"] == [[low, high] for low, high in zip(handlers.minimum, handlers.maximum)]
    assert state["step"] == STEP and state["decimals"] == 2
    examples = vae.manifest["examples"]
    opening, initial = examples[OPENING_DIGIT], state["initial"]
    assert initial["values"] == handlers.slider_values(opening["mu"])
    assert initial["mu"] == opening["mu"] and initial["logvar"] == opening["logvar"]
    np.testing.assert_array_equal(grey(initial["pixels"]), decoded(vae, initial["values"]))
    assert_figures(initial["figures"], vae, initial["values"], example_image(vae, OPENING_DIGIT))
    assert [tile["digit"] for tile in state["tiles"]] == list(range(10))
    for tile in state["tiles"]:
        np.testing.assert_array_equal(grey(tile["pixels"]), decoded(vae, examples[tile["digit"]]["mu"]))
    frames = state["morph"]["frames"]
    assert len(frames) == state["morph"]["steps"] == MORPH_STEPS
    np.testing.assert_array_equal(grey(frames[0]), decoded(vae, examples[MORPH_ENDS[0]]["mu"]))
    np.testing.assert_array_equal(grey(frames[-1]), decoded(vae, examples[MORPH_ENDS[1]]["mu"]))


def test_zero_where_reset_goes_lies_well_inside_the_shipped_mixture_prior(vae):
    samples = vae.prior.log_prob(vae.sample_latents(2000, seed=0))
    assert (samples < vae.prior.log_prob(np.zeros(vae.latent_dim))).mean() > 0.05


# --- the page's server functions -----------------------------------------------------------


def test_decode_shows_the_digit_of_the_slider_values(handlers, vae):
    values = [round(0.3 * (-1) ** i * (i % 4), 2) for i in range(vae.latent_dim)]
    shown = handlers.page_decode(values)
    assert shown["values"] == values and shown["ms"] > 0
    np.testing.assert_array_equal(grey(shown["pixels"]), decoded(vae, values))
    assert_figures(shown["figures"], vae, values)


@pytest.mark.parametrize(
    "bad, message",
    [
        ([99.0], "z0 must lie in ["),
        ([float("nan")], "z0 must lie in ["),
        ([10**400], "z0 must lie in ["),  # a whole number too large even for a float
        (["1"], "z0 must be a number"),
        ([None], "z0 must be a number"),
        ([True], "z0 must be a number"),
    ],
)
def test_latent_values_out_of_range_or_not_numbers_are_refused_by_name(handlers, bad, message):
    values = bad + [0.0] * (handlers.latent_dim - 1)
    assert message in handlers.page_decode(values)["error"]
    with pytest.raises(gr.Error, match=re.escape(message)):
        handlers.api_decode(*values)


def test_the_sliders_ends_sent_back_in_float32_are_inside_their_range(handlers, vae):
    """The page reads its sliders into float32, which may round an end a hair outside it."""
    for ends in (handlers.minimum, handlers.maximum):
        sent = [float(np.float32(value)) for value in ends]
        np.testing.assert_array_equal(grey(handlers.page_decode(sent)["pixels"]), decoded(vae, sent))


def test_a_stroke_puts_mu_of_what_the_encoder_sees_on_the_sliders_with_its_figures(handlers, vae):
    canvas = seven()
    noise = np.random.default_rng(0).standard_normal(vae.latent_dim).astype(np.float32)
    answer = handlers.page_draw(drawing(canvas, noise.tolist()))
    seen = preprocess_drawing(canvas, ink="light")
    mu, logvar = vae.encode(seen)
    assert_figures(answer["figures"], vae, mu + np.exp(0.5 * logvar) * noise, seen)
    assert answer["values"] == handlers.slider_values(mu)
    np.testing.assert_allclose(answer["mu"], mu, rtol=1e-6)
    np.testing.assert_allclose(answer["logvar"], logvar, rtol=1e-6)
    np.testing.assert_array_equal(grey(answer["pixels"]), decoded(vae, answer["values"]))
    np.testing.assert_array_equal(grey(answer["seen"]), to_uint8(seen))


def test_a_drawing_of_any_allowed_size_is_encoded(handlers):
    for side in (28, 300):
        assert_on_sliders(handlers, handlers.page_draw(drawing(seven(side)))["values"])


def test_a_blank_pad_is_empty_not_an_error(handlers):
    assert handlers.page_draw(drawing(np.zeros((PAD_SEND_SIDE, PAD_SEND_SIDE), np.uint8))) == {"empty": True}


@pytest.mark.parametrize(
    "bad, message",
    [
        ("hello", "canvas side"),
        ("9999:AAAA", "canvas side"),
        ("112:not base64!", "base64"),
        ("112:" + base64.b64encode(b"\0" * 100).decode(), "needs 12544 bytes"),
        (None, "expected the pad's pixels as text"),
        ("²:AAAA", "canvas side"),
        ("28:" + "A" * 10_000, "a 28x28 drawing needs 784 bytes of pixels; got more"),
    ],
)
def test_malformed_pad_pixels_get_a_clear_error(handlers, bad, message):
    assert message in handlers.page_draw(drawing(bad))["error"]


@pytest.mark.parametrize(
    "bad, message",
    [
        ("112:AAAA", "expected the drawing as {pixels, noise}"),
        ({"pixels": "112:AAAA"}, "expected the drawing as {pixels, noise}"),
        ({"pixels": "112:AAAA", "noise": [0.0] * 10, "extra": 1}, "expected the drawing as {pixels, noise}"),
        ({"pixels": "112:AAAA", "noise": [0.0] * 9}, "expected the stroke's noise as 10 standard normal numbers"),
        ({"pixels": "112:AAAA", "noise": [float("nan")] * 10}, "within +-10"),
        ({"pixels": "112:AAAA", "noise": [11.0] + [0.0] * 9}, "within +-10"),
        ({"pixels": "112:AAAA", "noise": [True] * 10}, "within +-10"),
        ({"pixels": "112:AAAA", "noise": "0" * 10}, "expected the stroke's noise"),
    ],
)
def test_a_malformed_drawing_or_noise_gets_a_clear_error(handlers, bad, message):
    assert message in handlers.page_draw(bad)["error"]


def test_each_tile_sample_is_new_and_near_its_example(handlers, vae):
    for digit in (0, 7):
        example = vae.manifest["examples"][digit]
        sigma = np.exp(0.5 * np.asarray(example["logvar"]))
        first, second = handlers.page_sample(digit), handlers.page_sample(digit)
        assert first["values"] != second["values"]
        for answer in (first, second):
            assert answer["mu"] == example["mu"] and answer["logvar"] == example["logvar"]
            assert_on_sliders(handlers, answer["values"])
            assert np.all(np.abs(np.asarray(answer["values"]) - example["mu"]) <= 5 * sigma + STEP)
            np.testing.assert_array_equal(grey(answer["pixels"]), decoded(vae, answer["values"]))
            assert_figures(answer["figures"], vae, answer["values"], example_image(vae, digit))


@pytest.mark.parametrize("digit", [10, "3", None, 2.5, True])
def test_a_forged_tile_is_refused(handlers, digit):
    assert "digit must be a whole number from 0 to 9" in handlers.page_sample(digit)["error"]


def test_a_prior_sample_sets_every_slider_and_the_digit(handlers, vae):
    first, second = handlers.page_prior(), handlers.page_prior()
    assert first["values"] != second["values"]
    assert_on_sliders(handlers, first["values"])
    np.testing.assert_array_equal(grey(first["pixels"]), decoded(vae, first["values"]))
    assert_figures(first["figures"], vae, first["values"])


def test_the_morph_strip_runs_from_one_example_to_the_other(handlers, vae):
    frames = [grey(frame) for frame in handlers.page_morph([1, 6])["frames"]]
    assert len(frames) == MORPH_STEPS
    examples = vae.manifest["examples"]
    np.testing.assert_array_equal(frames[0], decoded(vae, examples[1]["mu"]))
    np.testing.assert_array_equal(frames[-1], decoded(vae, examples[6]["mu"]))
    assert "second digit must be a whole number from 0 to 9" in handlers.page_morph([3, 11])["error"]
    assert "expected two digits" in handlers.page_morph("3 to 8")["error"]
    assert len(handlers.page_morph(list(range(10_000)))["error"]) < 200  # a client's list is not echoed whole


# --- the API endpoints ----------------------------------------------------------------------


def test_api_decode_returns_the_28x28_digit_as_a_png(handlers, vae):
    values = [0.5] * vae.latent_dim
    image = png(handlers.api_decode(*values))
    assert image.shape == (28, 28)
    np.testing.assert_array_equal(image, decoded(vae, values))
    with pytest.raises(gr.Error, match="expected 10 latent values z0..z9; got 9"):
        handlers.api_decode(*values[:-1])


def test_api_sample_is_reproducible_with_a_seed(handlers, vae):
    first, again, other = handlers.api_sample(4, 11), handlers.api_sample(4, 11), handlers.api_sample(4, 12.0)
    assert first[:-1] == again[:-1] != other[:-1]
    np.testing.assert_array_equal(png(first[-1]), decoded(vae, first[:-1]))


@pytest.mark.parametrize("digit", [-1, 10, 2.5, "3", True, None])
def test_api_sample_refuses_digits_outside_0_to_9(handlers, digit):
    with pytest.raises(gr.Error, match="digit must be a whole number from 0 to 9"):
        handlers.api_sample(digit, 0)


def test_api_sample_takes_any_whole_seed(handlers):
    assert handlers.api_sample(3, 10**400)[:-1] == handlers.api_sample(3, 10**400)[:-1]


@pytest.mark.parametrize(
    "seed, message",
    [
        (-5, "seed must be a whole number of at least 0, or None for a fresh sample; got -5"),
        (2.5, "got 2.5"),
        ("7", "got '7'"),
        (False, "got False"),
        (float("inf"), "got inf"),
    ],
)
def test_api_sample_refuses_a_seed_that_is_not_a_whole_number(handlers, seed, message):
    with pytest.raises(gr.Error, match=message):
        handlers.api_sample(3, seed)


def test_api_encode_reads_images_as_drawings(handlers, vae, uploads):
    canvas = seven(280)
    expected_mu, _ = vae.encode(preprocess_drawing(canvas, ink="light"))
    dark_on_light = uploads / "dark.png"
    Image.fromarray(255 - canvas).convert("RGB").save(dark_on_light)
    transparent = uploads / "transparent.png"
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[..., 3] = canvas  # black ink on a transparent background
    Image.fromarray(rgba, mode="RGBA").save(transparent)
    for path in (dark_on_light, transparent):
        *values, image = handlers.api_encode({"path": str(path)})
        np.testing.assert_allclose(values, expected_mu, atol=0.05)
        np.testing.assert_array_equal(png(image), decoded(vae, values))


@pytest.mark.parametrize("mode, suffix", [("1", "png"), ("P", "gif"), ("I;16", "png"), ("LA", "png"), ("CMYK", "tiff")])
def test_api_encode_reads_odd_image_modes_like_plain_greyscale(handlers, uploads, mode, suffix):
    plain, odd = uploads / "plain.png", uploads / f"odd.{suffix}"
    drawing = Image.fromarray(seven(200))
    drawing.save(plain)
    drawing.convert(mode).save(odd)
    np.testing.assert_allclose(
        handlers.api_encode({"path": str(odd)})[:-1], handlers.api_encode({"path": str(plain)})[:-1], atol=0.02
    )


def test_api_encode_reads_a_float_tiff_with_values_from_0_to_1(handlers, vae, uploads):
    canvas = seven(200)
    path = uploads / "float.tif"
    Image.fromarray(canvas.astype(np.float32) / 255.0, mode="F").save(path)
    with Image.open(path) as written:
        assert written.mode == "F"
    expected_mu, _ = vae.encode(preprocess_drawing(canvas, ink="light"))
    *values, image = handlers.api_encode({"path": str(path)})
    np.testing.assert_allclose(values, expected_mu, atol=0.02)
    np.testing.assert_array_equal(png(image), decoded(vae, values))


@pytest.mark.parametrize(
    "pixels, message",
    [
        (
            seven(200).astype(np.float32),
            "32-bit float pixels from 0 to 255; float images must hold values in \\[0, 1\\]",
        ),
        (np.full((50, 50), np.nan, np.float32), "32-bit float pixels that are NaN or infinite"),
    ],
    ids=["0-255", "nan"],
)
def test_api_encode_refuses_a_float_tiff_outside_0_to_1_by_name(handlers, uploads, pixels, message):
    path = uploads / "float.tif"
    Image.fromarray(pixels, mode="F").save(path)
    with pytest.raises(gr.Error, match=message):
        handlers.api_encode({"path": str(path)})


def test_api_encode_explains_what_is_wrong_with_an_image(handlers, uploads, tmp_path):
    blank, text, huge, cut = (uploads / name for name in ("blank.png", "notes.png", "huge.png", "cut.png"))
    Image.new("L", (100, 100), 255).save(blank)
    text.write_text("not an image")
    Image.new("1", (5000, 10)).save(huge)
    cut.write_bytes(blank.read_bytes()[:60])  # a PNG cut off after its header
    outside = tmp_path / "elsewhere.png"
    Image.new("L", (100, 100), 255).save(outside)
    for image, message in (
        ({"path": str(blank)}, "the drawing is empty"),
        ({"path": str(text)}, "not an image"),
        ({"path": str(huge)}, "5000x10 pixels"),
        ({"path": str(cut)}, "damaged"),
        ({"path": str(outside)}, "must be a file uploaded to this server"),
        ({"path": str(uploads / ".." / ".." / "etc" / "passwd")}, "must be a file uploaded to this server"),
        (str(blank), "expected an uploaded image file"),
        ({"path": "a\x00b.png"}, "not a usable file path"),
        (None, "no image was sent"),
    ):
        with pytest.raises(gr.Error, match=message):
            handlers.api_encode(image)
