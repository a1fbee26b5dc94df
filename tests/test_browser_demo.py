"""The demo page in real headless Chromium (Debian's, driven by Playwright), on a live server.

One server and one browser serve the whole module; each test opens a fresh page. A test
that fails leaves a full-page screenshot in ``test-artifacts/browser/``.
"""

import time
from pathlib import Path

import numpy as np
import pytest

from vaeport.benchmarks.browser import CHROMIUM, DemoPage, chromium, seven_stroke
from vaeport.ui.images import to_uint8

pytest.importorskip("playwright")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
    pytest.mark.filterwarnings("ignore::Warning:gradio.queueing"),  # pandas deprecations inside Gradio
]

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "browser"
WAIT_S = 15


@pytest.fixture(scope="module")
def browser():
    with chromium() as context:
        yield context


@pytest.fixture
def demo(browser, demo_url, request):
    demo = DemoPage.open(browser, demo_url)
    failures_before = request.session.testsfailed
    yield demo
    if request.session.testsfailed > failures_before:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        demo.page.screenshot(path=ARTIFACTS / f"{request.node.name}.png", full_page=True)
    demo.page.close()
    assert demo.errors == [], "the page reported JavaScript errors"


def eventually(check, what: str):
    """Wait until ``check()`` is true; fail naming ``what`` after WAIT_S seconds."""
    deadline = time.monotonic() + WAIT_S
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {WAIT_S} s waiting for {what}")
        time.sleep(0.02)


def shows_its_sliders(demo, vae) -> bool:
    """Whether the digit on the page is the one decoded from the sliders on the page."""
    expected = to_uint8(vae.decode(np.asarray(demo.slider_values(), dtype=np.float32)))
    return np.array_equal(demo.digit_pixels(), expected)


def test_the_digit_is_shown_large_with_crisp_pixels(demo, vae):
    rendering = "c => [getComputedStyle(c).imageRendering, c.width, c.getBoundingClientRect().width]"
    assert demo.page.eval_on_selector("#digit canvas", rendering) == ["pixelated", 28, 280]
    assert shows_its_sliders(demo, vae)


def test_dragging_a_slider_redraws_the_digit_during_the_drag_and_ends_on_its_final_position(demo, vae):
    first = demo.digit_key()
    track = demo.slider_track(0)
    demo.press(track(0.5))
    for step in range(1, 11):
        demo.move(track(0.5 + 0.04 * step))
    eventually(lambda: demo.digit_key() != first, "the digit to change while the pointer is still down")
    for step in range(10, -6, -1):  # a fast sweep back: the page must still end on the last position
        demo.move(track(0.5 + 0.04 * step))
    demo.release()
    low, high = (float(demo.page.get_attribute(".latent input[type=range]", name)) for name in ("min", "max"))
    assert demo.slider_values()[0] == pytest.approx(low + 0.3 * (high - low), abs=0.1)  # where the pointer let go
    eventually(lambda: shows_its_sliders(demo, vae), "the digit decoded from the final slider values")


def test_drawing_moves_the_sliders_and_shows_the_reconstruction_before_the_pen_lifts(demo, vae):
    start, first = demo.slider_values(), demo.digit_key()
    assert demo.encoder_view_uri() is None
    pad = demo.pad_area()
    path = seven_stroke(40)
    demo.press(pad(*path[0]))
    for point in path[1:]:
        demo.move(pad(*point))
    eventually(
        lambda: demo.encoder_view_uri() and demo.slider_values() != start and demo.digit_key() != first,
        "the encoder view, the sliders and the digit to change while the pen is still down",
    )
    assert not demo.pad_is_blank()
    demo.release()
    eventually(lambda: shows_its_sliders(demo, vae), "the reconstruction decoded from the sliders")


def test_clicking_a_tile_twice_gives_two_different_samples_of_its_digit(demo, vae):
    """Each click is one call that sets all the sliders and the digit: moving the sliders from
    code does not send a decode per slider."""
    example = vae.manifest["examples"][7]
    sigma = np.exp(0.5 * np.asarray(example["logvar"]))
    calls_before = demo.server_calls
    samples = []
    for _ in range(2):
        before = demo.slider_values()
        demo.click_tile(7)
        eventually(lambda: demo.slider_values() != before, "the sliders to move to a new sample")
        eventually(lambda: shows_its_sliders(demo, vae), "the digit decoded from the sample")
        samples.append(demo.slider_values())
    time.sleep(0.5)  # time for any stray call to go out
    assert demo.server_calls - calls_before == 2
    assert samples[0] != samples[1]
    for values in samples:
        assert np.all(np.abs(np.asarray(values) - example["mu"]) <= 5 * sigma + 0.01)


def test_clear_empties_the_pad_and_the_encoder_view_and_keeps_the_digit(demo, vae):
    pad = demo.pad_area()
    demo.press(pad(0.5, 0.2))
    demo.move(pad(0.5, 0.8))
    demo.release()
    eventually(lambda: demo.encoder_view_uri() is not None, "the encoder view of the stroke")
    eventually(lambda: shows_its_sliders(demo, vae), "the reconstruction of the stroke")
    drawn = demo.slider_values()
    demo.clear_pad()
    eventually(lambda: demo.encoder_view_uri() is None, "the encoder view to empty")
    assert demo.pad_is_blank()
    assert demo.slider_values() == drawn and shows_its_sliders(demo, vae)


def test_reset_and_prior_buttons_set_every_slider_and_the_digit(demo, vae):
    demo.click_tile(3)
    eventually(lambda: demo.slider_values() != [0.0] * vae.latent_dim, "a tile sample")
    demo.click("#reset")
    eventually(lambda: demo.slider_values() == [0.0] * vae.latent_dim, "every slider back at zero")
    eventually(lambda: shows_its_sliders(demo, vae), "the digit decoded from zero")
    demo.click("#prior")
    eventually(lambda: demo.slider_values() != [0.0] * vae.latent_dim, "a sample from the prior")
    eventually(lambda: shows_its_sliders(demo, vae), "the digit decoded from the prior sample")
