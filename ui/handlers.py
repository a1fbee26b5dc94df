"""What every slider move, stroke, click and API call of the demo computes.

Each handler returns the values of its outputs in the order ``vaeport.ui.app`` wires them,
so one handler sets all the sliders and the digit together: one decode per event, never
one per slider. Values set from code are clipped to the sliders' ranges and rounded to
their step, and the digit shown is decoded from exactly those values, so the page never
shows a digit that its sliders do not describe.

Page events return the values the page's components show: the digit as its grey bytes and
status line (painted by ``vaeport.ui.page.DIGIT_JS``), other images as HTML with inline PNGs.
API endpoints return the 28x28 digit as uint8 pixels, which Gradio sends as a PNG file.

Errors a user can cause (a ``VaeportError``: bad values, empty drawings, unreadable images)
become a ``gr.Error`` carrying their message. Anything else is a bug, which Gradio reports
as a generic error without a stack trace while the server keeps running.
"""

import functools
import html
import math
import numbers
import time

import gradio as gr
import numpy as np

from vaeport.errors import VaeportError
from vaeport.runtime import EmptyDrawingError, preprocess_drawing
from vaeport.ui.errors import DemoInputError
from vaeport.ui.images import grey_base64, pad_pixels, png_data_uri, read_image, to_uint8
from vaeport.ui.page import encoder_view_html, strip_html, tiles_html

STEP_DECIMALS = 2
STEP = 10.0**-STEP_DECIMALS  # slider step; slider ranges are rounded outwards to it
MORPH_STEPS = 8  # frames in the interpolation strip, both ends included


def user_errors(handler):
    """Turn the errors a user can cause into a ``gr.Error`` with their message (``<`` and ``&``
    escaped: the page shows it as HTML)."""

    @functools.wraps(handler)
    def wrapper(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except VaeportError as error:
            raise gr.Error(html.escape(str(error), quote=False), print_exception=False) from None

    return wrapper


class DemoHandlers:
    """The demo's event handlers, on one shared runtime (which is safe to use from many threads)."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.latent_dim = runtime.latent_dim
        stats = runtime.manifest["latent_stats"]
        # Every test digit's mu fits the sliders: the range of mu over the test set, rounded outwards.
        steps_per_unit = 10**STEP_DECIMALS
        self.minimum = [math.floor(value * steps_per_unit) / steps_per_unit for value in stats["min"]]
        self.maximum = [math.ceil(value * steps_per_unit) / steps_per_unit for value in stats["max"]]
        self.examples = {example["digit"]: example for example in runtime.manifest["examples"]}
        self.provider = runtime.providers[0]

    # --- what a fresh page shows --------------------------------------------------------

    def initial(self) -> list:
        """[*slider values, digit] of a freshly opened page: z = 0."""
        return self.on_reset()

    def tiles(self) -> str:
        """The example tiles: the reconstructions (decoded mu) of the manifest's examples, digit 0 first."""
        mu = np.asarray([self.examples[digit]["mu"] for digit in sorted(self.examples)], dtype=np.float32)
        return tiles_html([png_data_uri(image) for image in self.runtime.decode(mu)])

    # --- events from the page -----------------------------------------------------------

    @user_errors
    def on_slide(self, *values):
        """A slider moved: outputs the digit."""
        return self._shown_digit(*self._decode(self._latent(values)))

    @user_errors
    def on_draw(self, payload: str):
        """The pad sent its pixels: outputs [*sliders, digit, encoder view HTML].

        An empty payload (the pad was cleared) or a canvas without ink empties the encoder
        view and leaves the sliders and the digit as they are.
        """
        cleared = [gr.skip()] * (self.latent_dim + 1) + [encoder_view_html(None)]
        if not payload:
            return cleared
        try:
            seen = preprocess_drawing(pad_pixels(payload), ink="light")
        except EmptyDrawingError:
            return cleared
        mu, _ = self.runtime.encode(seen)
        return self._board(mu) + [encoder_view_html(png_data_uri(seen))]

    @user_errors
    def on_tile(self, event: gr.EventData):
        """An example tile was clicked: a fresh posterior sample of its digit; outputs [*sliders, digit]."""
        data = event._data if isinstance(event._data, dict) else {}  # what the tile's click sent: {"digit": d}
        return self._board(self._posterior_sample(data.get("digit"), seed=None))

    @user_errors
    def on_prior(self):
        """Sample z from the prior N(0, I): outputs [*sliders, digit]."""
        return self._board(self.runtime.sample_latents(1)[0])

    @user_errors
    def on_reset(self):
        """Every slider back to zero: outputs [*sliders, digit]."""
        return self._board(np.zeros(self.latent_dim))

    @user_errors
    def on_morph(self, first, second):
        """Either end of the interpolation strip changed: outputs the strip HTML."""
        start = self.examples[self._digit_number(first, "first digit")]["mu"]
        end = self.examples[self._digit_number(second, "second digit")]["mu"]
        frames = self.runtime.decode(self.runtime.interpolate(start, end, MORPH_STEPS))
        return strip_html([png_data_uri(frame) for frame in frames])

    # --- named API endpoints ------------------------------------------------------------

    @user_errors
    def api_decode(self, *values):
        """/decode: the latent values z0..z(D-1) -> the 28x28 digit."""
        image, _ = self._decode(self._latent(values))
        return to_uint8(image)

    @user_errors
    def api_encode(self, path):
        """/encode: an image file -> [*latent values, 28x28 reconstruction]; the image is
        preprocessed like a drawing (cropped, scaled and centred the MNIST way)."""
        if path is None:
            raise DemoInputError("no image was sent; send an image of a digit")
        mu, _ = self.runtime.encode(preprocess_drawing(read_image(path)))
        return self._api_result(mu)

    @user_errors
    def api_sample(self, digit, seed):
        """/sample: a digit 0-9 and a seed (None for a fresh one) -> [*latent values, 28x28 digit]."""
        return self._api_result(self._posterior_sample(digit, seed))

    # --- helpers ------------------------------------------------------------------------

    def slider_values(self, z) -> list[float]:
        """``z`` as slider positions: clipped to each slider's range and rounded to its step."""
        clipped = np.clip(np.asarray(z, dtype=np.float64), self.minimum, self.maximum)
        return np.round(clipped, STEP_DECIMALS).tolist()

    def _decode(self, values: list[float]) -> tuple[np.ndarray, float]:
        """The digit decoded from ``values`` and the seconds the decode took."""
        start = time.perf_counter()
        image = self.runtime.decode(np.asarray(values, dtype=np.float32))
        return image, time.perf_counter() - start

    def _shown_digit(self, image: np.ndarray, seconds: float) -> dict:
        """What the digit component shows: the image's grey bytes and the status line."""
        status = f"{self.provider} · last decode {seconds * 1000:.2f} ms"
        return {"pixels": grey_base64(image), "status": html.escape(status)}

    def _board(self, z) -> list:
        """[*slider values, digit] for ``z`` put on the sliders."""
        values = self.slider_values(z)
        return [*values, self._shown_digit(*self._decode(values))]

    def _api_result(self, z) -> list:
        """[*slider values, 28x28 uint8 digit] for ``z`` put on the sliders."""
        values = self.slider_values(z)
        image, _ = self._decode(values)
        return [*values, to_uint8(image)]

    def _posterior_sample(self, digit, seed) -> np.ndarray:
        """One z from the posterior N(mu, sigma) of the manifest's example of ``digit``."""
        example = self.examples[self._digit_number(digit, "digit")]
        return self.runtime.sample_posterior(example["mu"], example["logvar"], n=1, seed=seed)[0]

    def _latent(self, values) -> list[float]:
        """Latent values from a client, checked: numbers, each within its slider's range."""
        for index, (value, low, high) in enumerate(zip(values, self.minimum, self.maximum)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise DemoInputError(f"z{index} must be a number; got {value!r}")
            if not low <= value <= high:  # NaN fails every comparison
                raise DemoInputError(
                    f"z{index} must lie in [{low}, {high}] (the range of mu over the MNIST test set); got {value!r}"
                )
        return [float(value) for value in values]

    def _digit_number(self, value, name: str) -> int:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or value not in self.examples:
            raise DemoInputError(f"{name} must be a whole number from 0 to 9; got {value!r}")
        return int(value)
