"""What the demo computes on the server: the page's server engine and the named API endpoints.

The page (``ui/static/demo.mjs``) runs the model in the visitor's browser when it can, and
otherwise calls the ``page_*`` methods here, one JSON value in and one JSON object out, as
Gradio server functions. A mistake the caller made comes back as ``{"error": message}``;
anything else is a bug, which Gradio answers as a server error while it keeps running.

The API endpoints ``/decode``, ``/encode`` and ``/sample`` (the ``api_*`` methods) answer with
the 28x28 digit as a PNG file, and raise ``gr.Error`` with the message of what was wrong.

Latent values set from code are clipped to the sliders' ranges and rounded to their step, and
the digit returned is decoded from exactly those values, so the page never shows a digit that
its sliders do not describe. Each answer that sets the sliders carries the readout's ``figures``
(``VAERuntime.elbo``'s, as the browser runtime's ``elbo`` computes them): for an image (a drawing,
an example's test digit) its reconstruction BCE, KL, negative ELBO and log p(z) at ``z``; for a z
with no image behind it, log p(z) alone.
"""

import functools
import html
import math
import numbers
import time
from pathlib import Path

import gradio as gr
import numpy as np

from vaeport.contract import DIGITS
from vaeport.errors import VaeportError
from vaeport.runtime import EmptyDrawingError, preprocess_drawing
from vaeport.runtime.manifest import example_pixels
from vaeport.ui.errors import DemoInputError
from vaeport.ui.gradio_internals import save_png_in_cache, upload_folder
from vaeport.ui.images import grey_base64, pad_pixels, read_image, to_uint8

STEP_DECIMALS = 2
STEP = 10.0**-STEP_DECIMALS  # slider step; slider ranges are rounded outwards to it
MORPH_STEPS = 8  # frames in the interpolation strip, both ends included
MORPH_ENDS = (3, 8)  # the strip a fresh page shows
OPENING_DIGIT = MORPH_ENDS[0]  # a fresh page shows this example's mu
ELBO_FIGURES = ("recon_bce", "kl", "neg_elbo", "log_pz")
NOISE_LIMIT = 10.0  # a stroke's posterior noise: standard normal numbers, refused beyond this


def page_errors(handler):
    """A page server function: the errors a caller can cause become ``{"error": message}``."""

    @functools.wraps(handler)
    def wrapper(self, argument=None):
        try:
            return handler(self, argument)
        except VaeportError as error:
            return {"error": str(error)}

    return wrapper


def api_errors(handler):
    """An API endpoint: the errors a caller can cause become a ``gr.Error`` with their message
    (``<`` and ``&`` escaped: Gradio's page shows it as HTML)."""

    @functools.wraps(handler)
    def wrapper(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except VaeportError as error:
            raise gr.Error(html.escape(str(error), quote=False), print_exception=False) from None

    return wrapper


def uploaded_path(image) -> Path:
    """The server path of an image a client uploaded (Gradio's file reference ``{"path": ...}``).

    Only files inside Gradio's upload folder are read: a reference is data from the client, and
    a path elsewhere would let it read any file of the server.
    """
    if image is None:
        raise DemoInputError("no image was sent; send an image of a digit")
    path = image.get("path") if isinstance(image, dict) else None
    if not isinstance(path, str):
        raise DemoInputError(f"expected an uploaded image file (gradio_client.handle_file(path)); got {image!r:.80}")
    try:
        resolved, uploads = Path(path).resolve(), upload_folder().resolve()
    except (OSError, ValueError):  # a NUL byte, a loop of links
        raise DemoInputError("the image reference is not a usable file path") from None
    if not resolved.is_relative_to(uploads):
        raise DemoInputError("the image must be a file uploaded to this server (gradio_client.handle_file(path))")
    return resolved


class DemoHandlers:
    """The demo's computations on one shared runtime (which is safe to use from many threads)."""

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
        # Each tile shows its example's reconstruction, the decoded mu; the readout's figures are those
        # of the example's test digit itself, whose pixels the manifest holds.
        digits = sorted(self.examples)
        mu = np.asarray([self.examples[digit]["mu"] for digit in digits], dtype=np.float32)
        self.tile_images = dict(zip(digits, runtime.decode(mu)))
        self.example_images = {digit: example_pixels(self.examples[digit]).astype(np.float32) / 255 for digit in digits}

    # --- what a fresh page shows --------------------------------------------------------

    def page_state(self) -> dict:
        """The sliders, the first digit (an example's mu, with its tile's figures), the example tiles and
        the morph strip of a new page."""
        opening = self.examples[OPENING_DIGIT]
        return {
            "step": STEP,
            "decimals": STEP_DECIMALS,
            "sliders": [[low, high] for low, high in zip(self.minimum, self.maximum)],
            "initial": {
                "digit": OPENING_DIGIT,
                "mu": opening["mu"],
                "logvar": opening["logvar"],
                **self._shown(self.slider_values(opening["mu"]), self.example_images[OPENING_DIGIT]),
            },
            "tiles": [{"digit": digit, "pixels": grey_base64(image)} for digit, image in self.tile_images.items()],
            "morph": {
                "digits": sorted(self.examples),
                "from": MORPH_ENDS[0],
                "to": MORPH_ENDS[1],
                "steps": MORPH_STEPS,
                **self.page_morph(list(MORPH_ENDS)),
            },
        }

    # --- the page's server functions ----------------------------------------------------

    @page_errors
    def page_decode(self, values) -> dict:
        """Slider values -> ``{values, pixels, ms, figures}``: the digit's grey bytes (base64), the decode
        time and log p(z)."""
        if not isinstance(values, list):
            raise DemoInputError(f"expected a list of {self.latent_dim} latent values; got {type(values).__name__}")
        return self._shown(self._latent(values))

    @page_errors
    def page_draw(self, drawing) -> dict:
        """``{"pixels": "<side>:<base64>", "noise": [D]}``, the pad's pixels and the stroke's standard
        normal noise -> mu and logvar of what the encoder sees, that image, mu put on the sliders with
        its digit, and the image's figures at the posterior sample z = mu + sigma * noise;
        ``{"empty": true}`` for a pad without ink."""
        if not isinstance(drawing, dict) or set(drawing) != {"pixels", "noise"}:
            raise DemoInputError(f"expected the drawing as {{pixels, noise}}; got {drawing!r:.80}")
        if not isinstance(drawing["pixels"], str):
            raise DemoInputError(f"expected the pad's pixels as text; got {type(drawing['pixels']).__name__}")
        noise = self._noise(drawing["noise"])
        try:
            seen = preprocess_drawing(pad_pixels(drawing["pixels"]), ink="light")
        except EmptyDrawingError:
            return {"empty": True}
        mu, logvar = self.runtime.encode(seen)
        z = (mu + np.exp(0.5 * logvar) * noise).astype(np.float32)
        return {
            "mu": mu.tolist(),
            "logvar": logvar.tolist(),
            "seen": grey_base64(seen),
            **self._shown(self.slider_values(mu), seen, z),
        }

    @page_errors
    def page_sample(self, digit) -> dict:
        """A digit 0-9 -> a new sample from its example's posterior N(mu, sigma), on the sliders, its digit
        and the figures of the example's tile at it."""
        digit = self._digit_number(digit, "digit")
        example = self.examples[digit]
        z = self.runtime.sample_posterior(example["mu"], example["logvar"], n=1)[0]
        return {
            "mu": example["mu"],
            "logvar": example["logvar"],
            **self._shown(self.slider_values(z), self.example_images[digit]),
        }

    @page_errors
    def page_prior(self, _=None) -> dict:
        """A sample from the model's prior, on the sliders, and its digit."""
        return self._shown(self.slider_values(self.runtime.sample_latents(1)[0]))

    @page_errors
    def page_morph(self, ends) -> dict:
        """``[first digit, second digit]`` -> ``{frames}``: the straight line between their examples' mu, decoded."""
        if not isinstance(ends, list) or len(ends) != 2:
            raise DemoInputError(f"expected two digits [first, second]; got {ends!r:.80}")
        start = self.examples[self._digit_number(ends[0], "first digit")]["mu"]
        end = self.examples[self._digit_number(ends[1], "second digit")]["mu"]
        frames = self.runtime.decode(self.runtime.interpolate(start, end, MORPH_STEPS))
        return {"frames": [grey_base64(frame) for frame in frames]}

    # --- named API endpoints ------------------------------------------------------------

    @api_errors
    def api_decode(self, *values) -> gr.FileData:
        """/decode: the latent values z0..z(D-1) -> the 28x28 digit, a PNG."""
        return self._png(self.runtime.decode(np.asarray(self._latent(values), dtype=np.float32)))

    @api_errors
    def api_encode(self, image) -> tuple:
        """/encode: an image file -> (*latent values, the 28x28 reconstruction as a PNG); the image is
        preprocessed like a drawing (cropped, scaled and centred the MNIST way)."""
        mu, _ = self.runtime.encode(preprocess_drawing(read_image(uploaded_path(image))))
        return self._api_result(mu)

    @api_errors
    def api_sample(self, digit, seed) -> tuple:
        """/sample: a digit 0-9 and a seed (None for a fresh one) -> (*latent values, their digit as a PNG)."""
        example = self.examples[self._digit_number(digit, "digit")]
        whole = isinstance(seed, numbers.Integral) or (isinstance(seed, float) and seed.is_integer())
        if seed is not None and (isinstance(seed, bool) or not whole or seed < 0):
            raise DemoInputError(
                f"seed must be a whole number of at least 0, or None for a fresh sample; got {seed!r:.80}"
            )
        seed = None if seed is None else int(seed)
        return self._api_result(self.runtime.sample_posterior(example["mu"], example["logvar"], n=1, seed=seed)[0])

    # --- helpers ------------------------------------------------------------------------

    def slider_values(self, z) -> list[float]:
        """``z`` as slider positions: clipped to each slider's range and rounded to its step."""
        clipped = np.clip(np.asarray(z, dtype=np.float64), self.minimum, self.maximum)
        return np.round(clipped, STEP_DECIMALS).tolist()

    def _shown(self, values: list[float], image=None, z=None) -> dict:
        """``{values, pixels, ms, figures}``: slider values, the grey bytes of their digit, the decode time,
        and the readout's figures at ``z`` (by default the values): ``image``'s, or log p(z) without one."""
        start = time.perf_counter()
        decoded = self.runtime.decode(np.asarray(values, dtype=np.float32))
        ms = (time.perf_counter() - start) * 1000
        return {"values": values, "pixels": grey_base64(decoded), "ms": ms, "figures": self._figures(values, image, z)}

    def _figures(self, values, image=None, z=None) -> dict:
        """The readout's figures at ``z`` (default ``values``), in nats, and that z: for an ``image``
        ``ELBO_FIGURES`` by ``VAERuntime.elbo``, else ``log_pz`` alone."""
        z = np.asarray(values if z is None else z, dtype=np.float32)
        if image is None:
            return {"log_pz": float(self.runtime.prior.log_prob(z)), "z": z.tolist()}
        figures = self.runtime.elbo(image, z=z)
        return {**{name: float(figures[name]) for name in ELBO_FIGURES}, "z": z.tolist()}

    def _png(self, image: np.ndarray) -> gr.FileData:
        return gr.FileData(path=save_png_in_cache(to_uint8(image)))

    def _api_result(self, z) -> tuple:
        """(*slider values, their digit as a PNG) for ``z`` put on the sliders."""
        values = self.slider_values(z)
        return (*values, self._png(self.runtime.decode(np.asarray(values, dtype=np.float32))))

    def _latent(self, values) -> list[float]:
        """Latent values from a client, checked: D numbers, each within its slider's range."""
        if len(values) != self.latent_dim:
            raise DemoInputError(
                f"expected {self.latent_dim} latent values z0..z{self.latent_dim - 1}; got {len(values)}"
            )
        for index, (value, low, high) in enumerate(zip(values, self.minimum, self.maximum)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise DemoInputError(f"z{index} must be a number; got {value!r:.80}")
            # Compared in float32, what the decoder runs on: a slider's end sent as float32 still fits.
            with np.errstate(over="ignore"):  # far out of range becomes inf, and is refused
                try:
                    as_float32 = np.float32(value)
                except OverflowError:  # a whole number too large even for float64
                    as_float32 = np.float32(np.inf)
                inside = np.float32(low) <= as_float32 <= np.float32(high)  # NaN fails every comparison
            if not inside:
                raise DemoInputError(
                    f"z{index} must lie in [{low}, {high}] (the range of mu over the MNIST test set); got {value!r}"
                )
        return [float(value) for value in values]

    def _noise(self, noise) -> np.ndarray:
        """A stroke's posterior noise from the page, checked: D numbers within +-NOISE_LIMIT."""
        expected = f"{self.latent_dim} standard normal numbers within +-{NOISE_LIMIT:g}"
        if not isinstance(noise, list) or len(noise) != self.latent_dim:
            raise DemoInputError(f"expected the stroke's noise as {expected}; got {noise!r:.80}")
        if not all(isinstance(x, numbers.Real) and not isinstance(x, bool) and abs(x) <= NOISE_LIMIT for x in noise):
            raise DemoInputError(f"expected the stroke's noise as {expected}; got {noise!r:.80}")
        return np.asarray(noise, dtype=np.float32)

    def _digit_number(self, value, name: str) -> int:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or value not in self.examples:
            raise DemoInputError(f"{name} must be a whole number from {DIGITS[0]} to {DIGITS[-1]}; got {value!r}")
        return int(value)
