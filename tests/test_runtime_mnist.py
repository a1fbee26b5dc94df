"""The runtime on real MNIST test digits: the manifest's recorded posteriors, reconstruction
quality, and drawings that go through preprocess_drawing landing where the test digits do.

The test images are read straight from the IDX file with numpy, so these tests need no torch.
"""

import os
from pathlib import Path

import numpy as np
import pytest

from vaeport.runtime import VAERuntime, preprocess_drawing
from vaeport.runtime.manifest import example_pixels

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def test_digits() -> np.ndarray:
    """The 10,000 MNIST test digits, uint8 ``[10000, 28, 28]``, from $VAEPORT_DATA_ROOT or ../shared/data."""
    root = Path(os.environ.get("VAEPORT_DATA_ROOT") or REPO.parent / "shared" / "data")
    path = root / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    if not path.is_file():
        pytest.fail(f"MNIST test images not found at {path}; set VAEPORT_DATA_ROOT to the folder holding MNIST/raw/")
    data = np.fromfile(path, dtype=np.uint8)
    assert int.from_bytes(data[:4].tobytes(), "big") == 2051, f"{path} is not an IDX image file"
    return data[16:].reshape(-1, 28, 28)


def test_the_manifest_examples_encode_to_their_recorded_posteriors(vae, test_digits):
    examples = vae.manifest["examples"]
    assert [example["digit"] for example in examples] == list(range(10))
    for example in examples:
        np.testing.assert_array_equal(example_pixels(example), test_digits[example["test_index"]])
    mu, logvar = vae.encode(test_digits[[example["test_index"] for example in examples]])
    np.testing.assert_allclose(mu, [example["mu"] for example in examples], atol=1e-4)
    np.testing.assert_allclose(logvar, [example["logvar"] for example in examples], atol=1e-4)


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_reconstructions_of_test_digits_cost_what_the_manifest_says(test_digits, precision):
    """Decoding mu instead of one posterior sample saves a few nats, so the reconstruction cost of
    2,000 test digits must be at most the manifest's recon_bce for that precision plus 3 nats (about
    5 standard errors of a 2,000-digit mean). Pixels read as 0..255, or a broken graph, cost hundreds."""
    vae = VAERuntime.load(device="cpu", precision=precision)
    digits = test_digits[:2000]
    target = digits / 255.0
    probabilities = np.clip(vae.reconstruct(digits).astype(np.float64), 1e-7, 1 - 1e-7)
    bce = -(target * np.log(probabilities) + (1 - target) * np.log1p(-probabilities)).sum(axis=(1, 2))
    assert bce.mean() <= vae.manifest["metrics"][precision]["recon_bce"] + 3.0


def drawn_canvas(digit: np.ndarray) -> np.ndarray:
    """A test digit as a 280x280 drawing: every pixel a 10x10 block."""
    return np.kron(digit, np.ones((10, 10), np.uint8))


def test_a_digit_drawn_on_a_large_canvas_encodes_like_the_test_digit(vae, test_digits):
    """Upscaled tenfold and preprocessed back, 1,000 test digits keep their mu to within a tenth of
    its test-set standard deviation in every dimension. A slider spans about +-2.3 standard
    deviations (p01..p99), so that is about 2% of its range, too little to see on the page; a box or
    centring one pixel off moves mu by several tenths."""
    digits = test_digits[:1000]
    original, _ = vae.encode(digits)
    drawn, _ = vae.encode(np.stack([preprocess_drawing(drawn_canvas(digit)) for digit in digits]))
    spread = np.asarray(vae.manifest["latent_stats"]["std"])
    assert np.all(np.abs(drawn - original) <= 0.1 * spread)


def test_every_canvas_format_of_the_example_digits_encodes_alike(vae, test_digits):
    spread = np.asarray(vae.manifest["latent_stats"]["std"])
    for example in vae.manifest["examples"]:
        light = drawn_canvas(test_digits[example["test_index"]])
        dark = 255 - light
        opaque = np.full_like(light, 255)
        canvases = {
            "greyscale, light on dark": light,
            "RGB float, dark on light": np.dstack([dark] * 3) / 255.0,
            "RGBA, black strokes on transparent": np.dstack([np.zeros_like(light)] * 3 + [light]),
            "RGBA opaque, dark on light": np.dstack([dark] * 3 + [opaque]),
        }
        for name, canvas in canvases.items():
            mu, _ = vae.encode(preprocess_drawing(canvas))
            assert np.all(np.abs(mu - example["mu"]) <= 0.1 * spread), f"digit {example['digit']}, {name}"
