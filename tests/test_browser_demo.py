"""The demo page in real headless Chromium (Debian's, driven by Playwright) on live servers.

The model runs in the page on onnxruntime-web, served from the npm copy (``--ort-web``), and
on the server when the page falls back to it. One browser serves the module; each test opens
a fresh page. A test that fails leaves a full-page screenshot in ``test-artifacts/browser/``.
"""

import hashlib
import json
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from support.demo_page import DemoUnderTest
from vaeport.benchmarks.harness import CHROMIUM, chromium, free_port, seven_stroke, static_server, throttle
from vaeport.runtime import VAERuntime, preprocess_drawing
from vaeport.runtime.manifest import example_pixels
from vaeport.ui.app import serve
from vaeport.ui.assets import MODEL_FOLDER, ORT_FOLDER, ORT_WEB
from vaeport.ui.gradio_internals import SERVER_FUNCTION_ROUTE
from vaeport.ui.handlers import ELBO_FIGURES, OPENING_DIGIT, DemoHandlers
from vaeport.ui.images import to_uint8
from vaeport.ui.page import PAD_SEND_SIDE
from vaeport.ui.web import write_site

pytest.importorskip("playwright")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "browser"
HOLD_ANSWERS = Path(__file__).resolve().parent / "support" / "hold_answers.js"
WAIT_S = 20
BROWSER_LABEL = f"in this browser: onnxruntime-web {ORT_WEB['version']} (wasm, fp32)"
REFUSE_ORT_WEB = f"**/{ORT_FOLDER}**"
NATS = 0.01  # the page shows its figures to 0.01 nats; they must be Python's within that
MAP_SIDE = 300  # CSS pixels


@pytest.fixture(scope="module")
def browser():
    with chromium() as context:
        yield context


@pytest.fixture
def open_page(browser, request):
    """Opens demo pages; each is checked for JavaScript errors and, if the test failed, photographed."""
    pages = []

    def open_(url, engine="browser", before=None):
        demo = DemoUnderTest.open(browser, url, engine=engine, timeout_s=WAIT_S, before=before)
        pages.append(demo)
        return demo

    failures_before = request.session.testsfailed
    yield open_
    for index, demo in enumerate(pages):
        if request.session.testsfailed > failures_before:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            demo.page.screenshot(path=ARTIFACTS / f"{request.node.name}-{index}.png", full_page=True)
        demo.page.close()
        assert demo.errors == [], "the page reported JavaScript errors"


@pytest.fixture
def demo(open_page, demo_url):
    return open_page(demo_url)


def eventually(check, what: str):
    """Wait until ``check()`` is true; fail naming ``what`` after WAIT_S seconds."""
    deadline = time.monotonic() + WAIT_S
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {WAIT_S} s waiting for {what}")
        time.sleep(0.02)


def shows_its_sliders(demo, vae) -> bool:
    """Whether the painted digit is the Python runtime's decode of the sliders' values, within 1/255."""
    expected = to_uint8(vae.decode(np.asarray(demo.slider_values(), dtype=np.float32)))
    return np.abs(demo.digit_pixels().astype(int) - expected).max() <= 1


def example(vae, digit: int) -> dict:
    """The manifest's example of ``digit``."""
    return next(example for example in vae.manifest["examples"] if example["digit"] == digit)


def morph_frames(demo) -> list[list[int]]:
    """The grey pixels of each frame of the morph strip."""
    return demo.page.eval_on_selector_all(
        "#morph canvas",
        "cs => cs.map(c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data.filter((_, i) => i % 4 === 0)))",
    )


def example_image(vae, digit: int) -> np.ndarray:
    """An example's test digit, which the manifest holds and whose figures a tile's readout shows."""
    return example_pixels(example(vae, digit)).astype(np.float32) / 255


def assert_readout(demo, vae, image=None) -> np.ndarray:
    """``#elbo`` shows the Python runtime's figures at its z: ``image``'s ELBO terms, or log p(z) alone; that z."""
    shown = demo.readout()
    z = np.asarray(shown.pop("z"), np.float32)
    if image is None:
        assert shown.keys() == {"log_pz"}
        assert shown["log_pz"] == pytest.approx(vae.prior.log_prob(z), abs=NATS)
    else:
        expected = vae.elbo(image, z=z)
        assert shown.keys() == set(ELBO_FIGURES)
        for name in ELBO_FIGURES:
            assert shown[name] == pytest.approx(expected[name], abs=NATS), name
    return z


def readout_of(demo, vae, image) -> np.ndarray | None:
    """The readout's z once ``#elbo`` shows Python's figures of ``image``, else None: the result of an
    encode of part of a stroke may show before the whole stroke's."""
    try:
        return assert_readout(demo, vae, image)
    except AssertionError:
        return None


def encoder_view_of_pad(demo) -> np.ndarray:
    """What the encoder saw of the pad: the Python recipe's image of the downsample the page sends."""
    sent = demo.page.evaluate(
        """side => {
          const small = Object.assign(document.createElement('canvas'), {width: side, height: side});
          const ink = small.getContext('2d');
          ink.imageSmoothingQuality = 'high';
          ink.drawImage(document.querySelector('.pad-canvas'), 0, 0, side, side);
          return Array.from(ink.getImageData(0, 0, side, side).data.filter((_, i) => i % 4 === 0));
        }""",
        PAD_SEND_SIDE,
    )
    return preprocess_drawing(np.asarray(sent, dtype=np.uint8).reshape(PAD_SEND_SIDE, PAD_SEND_SIDE), ink="light")


def press_on_map(demo, vae, u: float, v: float) -> np.ndarray:
    """Press on the map at fractions (across, down) and wait for the marker there and the sliders' digit; z."""
    demo.press(demo.map_area()(u, v))
    demo.release()
    eventually(
        lambda: np.abs(np.asarray(demo.marker()) - [u * MAP_SIDE, v * MAP_SIDE]).max() <= 2,
        f"the map's marker under the pointer at {u}, {v}",
    )
    eventually(lambda: shows_its_sliders(demo, vae), "the digit of the sliders the map set")
    return np.asarray(demo.slider_values())


def off_plane(vae, z) -> np.ndarray:
    """The part of z that the latent map's plane does not show."""
    latent_map = vae.latent_map
    return z - latent_map.centre - latent_map.project(z) @ latent_map.axes


def drag_slider(demo, index: int, fractions) -> None:
    track = demo.slider_track(index)
    demo.press(track(fractions[0]))
    for fraction in fractions[1:]:
        demo.move(track(fraction))
    demo.release()


# --- the model in the browser ---------------------------------------------------------------


def test_the_page_runs_the_model_in_the_browser_and_shows_crisp_pixels(demo, vae):
    assert demo.status().startswith(BROWSER_LABEL + " · last decode ")
    rendering = "c => [getComputedStyle(c).imageRendering, c.width, c.getBoundingClientRect().width]"
    assert demo.page.eval_on_selector("#digit canvas", rendering) == ["pixelated", 28, 280]
    assert len(demo.slider_values()) == vae.latent_dim
    assert shows_its_sliders(demo, vae)


def test_the_page_opens_on_an_examples_mu_with_its_posterior_and_figures(demo, vae):
    opening = example(vae, OPENING_DIGIT)
    assert demo.slider_values() == DemoHandlers(vae).slider_values(opening["mu"])
    assert demo.band_shown() == [True] * vae.latent_dim
    assert shows_its_sliders(demo, vae)
    z = assert_readout(demo, vae, example_image(vae, OPENING_DIGIT))
    assert z.tolist() == np.float32(demo.slider_values()).tolist()
    eventually(lambda: demo.marker() is not None, "the map's first frame")


def test_a_press_on_the_map_moves_z_in_its_plane_and_shows_its_digit_with_no_request_to_the_server(demo, vae):
    eventually(lambda: demo.marker() is not None, "the map's first frame")
    start, before = np.asarray(demo.slider_values()), len(demo.requests)
    left, right = press_on_map(demo, vae, 0.4, 0.55), press_on_map(demo, vae, 0.6, 0.55)
    (x_left, y_left), (x_right, y_right) = vae.latent_map.project(left), vae.latent_map.project(right)
    assert x_right > x_left and y_left == pytest.approx(y_right, abs=0.05)  # across the map is along its first axis
    for z in (left, right):  # off the plane, z stays where it was (but for the sliders' 0.01 steps)
        assert np.abs(off_plane(vae, z) - off_plane(vae, start)).max() <= 0.011
    assert_readout(demo, vae)  # a z with no image behind it: log p(z) alone

    area = demo.map_area()
    demo.press(area(0.45, 0.45))
    for step in range(1, 9):
        demo.move(area(0.45 + 0.02 * step, 0.45))
    demo.release()
    eventually(lambda: np.abs(np.asarray(demo.marker()) - [0.61 * MAP_SIDE, 0.45 * MAP_SIDE]).max() <= 2, "a drag")
    eventually(lambda: shows_its_sliders(demo, vae), "the digit where the drag ended")
    assert demo.requests[before:] == []


def test_on_the_plane_of_two_dimensions_a_press_sets_those_two_and_no_other(demo, vae):
    eventually(lambda: demo.marker() is not None, "the map's first frame")
    demo.page.select_option("select[aria-label='map plane']", "dimensions")
    demo.page.select_option("select[aria-label='map x dimension']", "3")
    demo.page.select_option("select[aria-label='map y dimension']", "7")
    assert "latent dimensions z3 (across) and z7 (up)" in demo.page.text_content(".map-caption")
    start = np.asarray(demo.slider_values())
    moved = press_on_map(demo, vae, 0.3, 0.6)
    assert np.flatnonzero(moved != start).tolist() == [3, 7]  # and the marker is under the pointer


def test_a_slider_move_moves_the_marker_along_the_projection(demo, vae):
    eventually(lambda: demo.marker() is not None, "the map's first frame")
    start, marker = demo.slider_values(), demo.marker()
    drag_slider(demo, 4, [0.5, 0.9])
    eventually(lambda: shows_its_sliders(demo, vae) and demo.marker() != marker, "the marker to move")
    moved = np.asarray(demo.marker()) - marker
    (dx, dy) = vae.latent_map.project(demo.slider_values()) - vae.latent_map.project(start)
    # The same direction on the page as in the plane (the page's y runs down).
    assert abs(moved[0] * -dy - moved[1] * dx) <= 0.02 * np.hypot(*moved) * np.hypot(dx, dy)
    assert moved @ [dx, -dy] > 0
    z = assert_readout(demo, vae)
    assert z.tolist() == np.float32(demo.slider_values()).tolist()


def test_dragging_a_slider_repaints_the_digit_with_no_request_to_the_server(demo, vae):
    before, paints = len(demo.requests), demo.paints()
    track = demo.slider_track(0)
    demo.press(track(0.5))
    for step in range(1, 11):
        demo.move(track(0.5 + 0.04 * step))
    eventually(lambda: demo.paints() > paints + 5, "the digit to be repainted during the drag")
    for step in range(10, -6, -1):  # a fast sweep back: the page must end on the last position
        demo.move(track(0.5 + 0.04 * step))
    demo.release()
    low, high = (float(demo.page.get_attribute(".latent input[type=range]", name)) for name in ("min", "max"))
    assert demo.slider_values()[0] == pytest.approx(
        low + 0.3 * (high - low), abs=0.02 * (high - low)
    )  # where the pointer let go
    eventually(lambda: shows_its_sliders(demo, vae), "the digit decoded from the final slider values")
    assert demo.requests[before:] == []


def test_keyboard_steps_on_a_slider_show_the_digit_of_every_value(demo, vae):
    start = demo.slider_values()[4]
    demo.page.focus("#z4 input[type=range]")
    for _ in range(3):
        for _ in range(25):
            demo.page.keyboard.press("ArrowRight")
        eventually(lambda: shows_its_sliders(demo, vae), "the digit of the keyboard's slider value")
    assert demo.slider_values()[4] == pytest.approx(start + 0.75)


def test_a_pad_stroke_moves_the_sliders_many_times_before_the_pen_lifts(demo, vae):
    start, before = demo.slider_values(), len(demo.requests)
    assert demo.seen_pixels() is None
    pad = demo.pad_area()
    path = seven_stroke(40)
    demo.press(pad(*path[0]))
    seen_values = set()
    for point in path[1:]:
        demo.move(pad(*point))
        seen_values.add(tuple(demo.slider_values()))
    encodes_during_stroke = demo.encodes()
    demo.release()
    assert encodes_during_stroke >= 10 and len(seen_values) >= 5, (encodes_during_stroke, len(seen_values))
    assert demo.slider_values() != start and not demo.pad_is_blank()
    assert demo.band_shown() == [True] * vae.latent_dim
    eventually(lambda: shows_its_sliders(demo, vae), "the reconstruction decoded from the sliders")

    # What the encoder saw is the Python recipe's image of the pad, and the sliders hold its mu.
    seen = encoder_view_of_pad(demo)
    assert np.abs(demo.seen_pixels().astype(int) - to_uint8(seen)).max() <= 1
    mu, _ = vae.encode(seen)
    assert np.abs(np.asarray(demo.slider_values()) - np.clip(mu, *_slider_range(demo))).max() <= 0.0051
    assert demo.requests[before:] == []


def test_after_a_stroke_the_readout_shows_pythons_elbo_of_what_the_encoder_saw(demo, vae):
    demo.draw(seven_stroke(40))
    seen = encoder_view_of_pad(demo)
    eventually(lambda: readout_of(demo, vae, seen) is not None, "the readout of the whole stroke")
    z = readout_of(demo, vae, seen)
    mu, logvar = vae.encode(seen)
    sigmas = np.abs(z - mu) / np.exp(0.5 * logvar)
    assert 0 < sigmas.max() < 7  # one posterior sample, not mu


def _slider_range(demo):
    low = demo.page.eval_on_selector_all(".latent input[type=range]", "s => s.map(r => Number(r.min))")
    high = demo.page.eval_on_selector_all(".latent input[type=range]", "s => s.map(r => Number(r.max))")
    return np.asarray(low), np.asarray(high)


def test_clicking_a_tile_twice_gives_two_samples_of_its_digit_with_its_sigma_shown(demo, vae):
    seven = example(vae, 7)
    sigma = np.exp(0.5 * np.asarray(seven["logvar"]))
    before = len(demo.requests)
    samples = []
    for _ in range(2):
        previous = demo.slider_values()
        demo.click_tile(7)
        eventually(lambda previous=previous: demo.slider_values() != previous, "the sliders to move to a new sample")
        eventually(lambda: shows_its_sliders(demo, vae), "the digit decoded from the sample")
        samples.append(demo.slider_values())
    assert samples[0] != samples[1]
    for values in samples:
        assert np.all(np.abs(np.asarray(values) - seven["mu"]) <= 5 * sigma + 0.01)
    assert demo.band_shown() == [True] * vae.latent_dim
    z = assert_readout(demo, vae, example_image(vae, 7))  # the example's test digit, at the z it sampled
    assert z.tolist() == np.float32(samples[-1]).tolist()
    assert demo.requests[before:] == []


def test_reset_prior_and_clear_work_in_the_browser(demo, vae):
    reset = [0.0] * vae.latent_dim
    demo.click_tile(3)
    eventually(lambda: demo.slider_values() != reset, "a tile sample")
    demo.page.click("#reset")
    eventually(lambda: demo.slider_values() == reset, "every slider back at the reset point")
    assert demo.band_shown() == [False] * vae.latent_dim
    eventually(lambda: shows_its_sliders(demo, vae), "the digit decoded from the reset point")
    demo.page.click("#prior")
    eventually(lambda: demo.slider_values() != reset, "a sample from the prior")
    eventually(lambda: shows_its_sliders(demo, vae), "the digit decoded from the prior sample")

    pad = demo.pad_area()
    demo.press(pad(0.5, 0.2))
    demo.move(pad(0.5, 0.8))
    demo.release()
    eventually(lambda: demo.seen_pixels() is not None, "the encoder view of the stroke")
    drawn = demo.slider_values()
    demo.clear_pad()
    eventually(lambda: demo.seen_pixels() is None, "the encoder view to empty")
    assert demo.pad_is_blank() and demo.slider_values() == drawn


def test_the_morph_strip_runs_between_the_chosen_examples(demo, vae):
    demo.page.select_option("select[aria-label='morph from']", "1")
    demo.page.select_option("select[aria-label='morph to']", "6")
    ends = to_uint8(vae.decode(np.asarray([example(vae, 1)["mu"], example(vae, 6)["mu"]], dtype=np.float32)))
    eventually(
        lambda: (
            np.abs(np.asarray(morph_frames(demo)[0]) - ends[0].ravel().astype(int)).max() <= 1
            and np.abs(np.asarray(morph_frames(demo)[-1]) - ends[1].ravel().astype(int)).max() <= 1
        ),
        "the strip to run from the 1 to the 6",
    )


def test_the_browser_runs_int8_beside_an_fp32_server_and_says_so(open_page, vae, ort_dist):
    int8 = VAERuntime.load(device="cpu", precision="int8", threads=1)
    with serve(vae, port=free_port(), ort_dist=ort_dist, block=False, browser_precision="int8") as server:
        demo = open_page(server.url)
        assert demo.status().startswith(BROWSER_LABEL.replace("fp32", "int8"))
        fetched = [url.rsplit("/", 1)[1] for _, url in demo.requests if url.endswith(".onnx")]
        assert sorted(fetched) == ["decoder.int8.onnx", "encoder.int8.onnx"]
        before = len(demo.requests)
        drag_slider(demo, 5, [0.5, 0.8, 0.35])
        eventually(lambda: shows_its_sliders(demo, int8), "the int8 digit of the dragged slider")
        assert demo.requests[before:] == []


# --- falling back to the server -------------------------------------------------------------


def _works_through_the_server(demo, vae):
    """A slider drag and a tile click go to the server and show the digits the Python runtime decodes."""
    before = len(demo.requests)
    drag_slider(demo, 2, [0.5, 0.6, 0.7, 0.2])
    eventually(lambda: shows_its_sliders(demo, vae), "the server's digit of the dragged slider")
    previous = demo.slider_values()
    demo.click_tile(4)
    eventually(lambda: demo.slider_values() != previous and shows_its_sliders(demo, vae), "the server's tile sample")
    demo.page.focus("#z1 input[type=range]")
    demo.page.keyboard.press("End")  # the slider's end, which float32 rounds a hair outside its range
    eventually(lambda: demo.slider_values()[1] == float(demo.page.get_attribute("#z1 input", "max")), "z1 at its end")
    eventually(lambda: shows_its_sliders(demo, vae), "the server's digit of a slider at its end")
    calls = demo.server_calls(before)
    press_on_map(demo, vae, 0.5, 0.5)
    assert demo.server_calls(before) > calls  # the map's z decoded on the server
    assert_readout(demo, vae)
    assert demo.status().startswith(f"on the server: {vae.providers[0]}") and "must lie in" not in demo.status()


def test_without_onnxruntime_web_the_page_falls_back_to_the_server_and_says_why(open_page, demo_url, vae):
    demo = open_page(demo_url, engine=None, before=lambda page: page.route(REFUSE_ORT_WEB, lambda route: route.abort()))
    demo.page.wait_for_selector("[data-browser=failed]", timeout=WAIT_S * 1000)
    assert "the browser engine could not start: could not fetch" in demo.status()
    _works_through_the_server(demo, vae)


def test_a_tampered_decoder_is_refused_and_the_page_falls_back_to_the_server(open_page, demo_url, vae):
    def tamper(route):
        body = bytearray(route.fetch().body())
        body[len(body) // 2] ^= 1
        route.fulfill(body=bytes(body), content_type="application/octet-stream")

    demo = open_page(demo_url, engine=None, before=lambda page: page.route(f"**/{MODEL_FOLDER}decoder.onnx", tamper))
    demo.page.wait_for_selector("[data-browser=failed]", timeout=WAIT_S * 1000)
    assert "decoder.onnx has SHA-256" in demo.status() and "but manifest.json records" in demo.status()
    _works_through_the_server(demo, vae)


def test_a_tampered_onnxruntime_web_fails_its_integrity_check(open_page, demo_url, vae):
    def tamper(route):
        route.fulfill(body=route.fetch().body() + b"\n// changed", content_type="text/javascript")

    demo = open_page(demo_url, engine=None, before=lambda page: page.route(f"**/{ORT_WEB['module']['file']}", tamper))
    demo.page.wait_for_selector("[data-browser=failed]", timeout=WAIT_S * 1000)
    assert f"{ORT_WEB['module']['file']} has sha384" in demo.status() and "not the pinned" in demo.status()
    _works_through_the_server(demo, vae)


def _failing_decoder(latent_dim: int) -> bytes:
    """A decoder with the contract's inputs and outputs that fails when it runs (a reshape of D values to 784)."""
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["z", "shape"], ["image"])],
        "fails_at_run_time",
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", latent_dim])],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 28, 28])],
        [helper.make_tensor("shape", TensorProto.INT64, [4], [-1, 1, 28, 28])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    return model.SerializeToString()


def test_an_error_at_run_time_moves_the_page_to_the_server_without_losing_the_action(open_page, demo_url, vae):
    broken = _failing_decoder(vae.latent_dim)
    onnx.checker.check_model(onnx.load_from_string(broken))

    def manifest(route):
        served = json.loads(route.fetch().body())
        served["graphs"]["fp32"]["decoder"]["sha256"] = hashlib.sha256(broken).hexdigest()
        route.fulfill(body=json.dumps(served), content_type="application/json")

    def routes(page):
        page.route(f"**/{MODEL_FOLDER}manifest.json", manifest)
        page.route(
            f"**/{MODEL_FOLDER}decoder.onnx",
            lambda route: route.fulfill(body=broken, content_type="application/octet-stream"),
        )

    demo = open_page(demo_url, engine=None, before=routes)
    demo.page.wait_for_selector("[data-browser=failed]", timeout=WAIT_S * 1000)
    assert "the browser engine failed: onnxruntime-web failed to run decoder.onnx" in demo.status()
    eventually(lambda: shows_its_sliders(demo, vae), "the digit from the server after the browser engine failed")
    _works_through_the_server(demo, vae)


def test_the_cdn_default_pins_onnxruntime_web_and_falls_back_when_it_is_unreachable(open_page, vae):
    requested = []

    def offline(route):
        requested.append(route.request.url)
        route.abort()

    cdn = ORT_WEB["cdn"]
    host = urlsplit(cdn)
    with serve(vae, port=free_port(), block=False) as server:  # no --ort-web: the public CDN
        demo = open_page(
            server.url, engine=None, before=lambda page: page.route(f"{host.scheme}://{host.netloc}/**", offline)
        )
        demo.page.wait_for_selector("[data-browser=failed]", timeout=WAIT_S * 1000)
        assert f"/onnxruntime-web@{ORT_WEB['version']}/" in cdn  # the CDN's copy of the pinned version
        assert sorted(requested) == sorted(cdn + ORT_WEB[part]["file"] for part in ("module", "wasm"))
        assert f"could not fetch {cdn}" in demo.status()
        _works_through_the_server(demo, vae)


def test_server_only_never_loads_the_model_in_the_browser(open_page, vae):
    with serve(vae, port=free_port(), browser=False, block=False) as server:
        demo = open_page(server.url, engine="server")
        demo.page.wait_for_selector("[data-browser=off]")
        assert "in-browser inference is off" in demo.status()
        _works_through_the_server(demo, vae)
        demo.draw(seven_stroke(40))
        seen = encoder_view_of_pad(demo)
        eventually(lambda: readout_of(demo, vae, seen) is not None, "the readout of the server's stroke")
        eventually(lambda: shows_its_sliders(demo, vae), "the server's stroke")
        assert not [
            url for _, url in demo.requests if url.endswith((".onnx", ".wasm", ".mjs")) and "/vaeport/" not in url
        ]


def hold_server_answers(page) -> None:
    """Hold the answers to the page's calls to the server engine until ``window.vaeportHeld.release()``."""
    page.add_init_script(f"{HOLD_ANSWERS.read_text()}\nholdServerAnswers({json.dumps(SERVER_FUNCTION_ROUTE)});")


def held(demo) -> dict:
    """How many answers of the server engine the page's fetch has held, and how many it handed on."""
    return demo.page.evaluate("() => window.vaeportHeld.counts")


def test_a_late_answer_never_undoes_what_the_visitor_did_meanwhile(open_page, vae):
    """The stroke's encode is answered, but its answer reaches the page only after the pad was cleared:
    the page must drop it. The page runs one action at a time, so the morph strip, asked for while
    the answer is held, shows only after the page has taken the late answer in."""
    with serve(vae, port=free_port(), browser=False, block=False) as server:
        demo = open_page(server.url, engine="server", before=hold_server_answers)
        start, encodes, strip = demo.slider_values(), demo.encodes(), morph_frames(demo)
        pad = demo.pad_area()
        demo.press(pad(0.5, 0.2))
        demo.move(pad(0.5, 0.8))
        demo.release()
        eventually(lambda: held(demo)["held"] == 1, "the stroke's encode to be answered (and its answer held)")
        demo.clear_pad()
        demo.page.select_option("select[aria-label='morph from']", "1")
        demo.page.evaluate("() => window.vaeportHeld.release()")
        eventually(lambda: morph_frames(demo) != strip, "the morph strip asked for after the clear")
        assert held(demo) == {"held": 1, "delivered": 1}
        assert demo.seen_pixels() is None and demo.slider_values() == start and demo.encodes() == encodes
        assert demo.pad_is_blank()


# --- the static site ----------------------------------------------------------------------


def test_the_static_site_runs_the_whole_demo_with_no_request_outside_its_origin(open_page, vae, ort_dist, tmp_path):
    site = tmp_path / "site"
    write_site(site, vae, ort_dist, compress=False)
    with static_server(site) as url:
        demo = open_page(url)
        assert demo.status().startswith(BROWSER_LABEL)
        drag_slider(demo, 1, [0.5, 0.7, 0.3])
        eventually(lambda: shows_its_sliders(demo, vae), "the digit of the dragged slider")
        previous = demo.slider_values()
        demo.click_tile(2)
        eventually(lambda: demo.slider_values() != previous and shows_its_sliders(demo, vae), "a tile sample")
        pad = demo.pad_area()
        demo.press(pad(0.5, 0.2))
        demo.move(pad(0.5, 0.8))
        demo.release()
        eventually(
            lambda: demo.seen_pixels() is not None and shows_its_sliders(demo, vae), "the stroke's reconstruction"
        )
        press_on_map(demo, vae, 0.5, 0.5)
        assert_readout(demo, vae)
        origin = urlsplit(url).netloc
        assert {
            urlsplit(address).netloc for _, address in demo.requests if not address.startswith(("data:", "blob:"))
        } == {origin}


@pytest.fixture(scope="module")
def compressed_site(vae, ort_dist, tmp_path_factory):
    """The static site with its precompressed copies (written once: brotli takes its time), as a host serves it."""
    site = tmp_path_factory.mktemp("compressed") / "site"
    write_site(site, vae, ort_dist)
    return site


def test_on_a_slow_link_the_status_line_shows_the_download_with_its_size(open_page, compressed_site):
    with static_server(compressed_site) as url:
        demo = open_page(url, engine=None, before=lambda page: throttle(page, 4e6, 20))
        demo.page.wait_for_function(
            "() => /loading the model in this browser: \\d+\\.\\d of \\d+\\.\\d MB/.test("
            "document.querySelector('.status').textContent)",
            timeout=1000,  # the sizes are in the page's configuration: they show before the first byte comes
        )
        assert demo.page.get_attribute("[data-browser]", "data-browser") == "loading"
        assert demo.page.is_visible("progress.download")
        received = lambda: demo.page.eval_on_selector("progress.download", "bar => [bar.value, bar.max]")  # noqa: E731
        first = received()
        eventually(lambda: received()[0] > first[0], "more bytes on the progress bar as they stream in")
        demo.page.wait_for_selector("[data-browser=ready]", timeout=WAIT_S * 1000)
        assert not demo.page.is_visible("progress.download")
        assert demo.status().startswith(BROWSER_LABEL)


def test_on_a_slow_link_the_sliders_decode_in_the_browser_before_the_encoder_arrives(open_page, vae, compressed_site):
    encoder = vae.manifest["graphs"][vae.precision]["encoder"]["file"]
    held = []  # the encoder's request, held until the test lets it through

    def prepare(page):
        throttle(page, 4e6, 20)
        page.route(f"**/{encoder}", lambda route: held.append(route))

    with static_server(compressed_site) as url:
        demo = open_page(url, engine=None, before=prepare)
        demo.page.wait_for_selector("[data-engine=browser][data-browser=loading]", timeout=WAIT_S * 1000)
        assert "loading the model in this browser:" in demo.status()
        drag_slider(demo, 1, [0.5, 0.7, 0.3])
        eventually(lambda: shows_its_sliders(demo, vae), "the dragged slider's digit from the browser's decoder")
        previous = demo.slider_values()
        demo.click_tile(2)
        eventually(lambda: demo.slider_values() != previous and shows_its_sliders(demo, vae), "a tile sample")
        demo.draw(seven_stroke(10))
        eventually(lambda: "the encoder is still loading in this browser" in demo.status(), "the pad saying so")
        assert demo.seen_pixels() is None
        eventually(lambda: held, "the encoder's request")
        held[0].continue_()
        demo.page.wait_for_selector("[data-browser=ready]", timeout=WAIT_S * 1000)
        demo.draw(seven_stroke(10))
        eventually(lambda: demo.seen_pixels() is not None and shows_its_sliders(demo, vae), "the stroke, once it is in")


def test_until_the_encoder_is_in_a_stroke_runs_on_the_server_and_the_sliders_in_the_browser(open_page, demo_url, vae):
    encoder = vae.manifest["graphs"][vae.precision]["encoder"]["file"]
    held = []  # the encoder's request, held until the test lets it through
    demo = open_page(
        demo_url, engine=None, before=lambda page: page.route(f"**/{encoder}", lambda route: held.append(route))
    )
    demo.page.wait_for_selector("[data-engine=browser][data-browser=loading]", timeout=WAIT_S * 1000)
    before = len(demo.requests)
    drag_slider(demo, 1, [0.5, 0.7, 0.3])
    eventually(lambda: shows_its_sliders(demo, vae), "the dragged slider's digit from the browser's decoder")
    assert demo.server_calls(before) == 0
    demo.draw(seven_stroke(10))
    eventually(lambda: demo.seen_pixels() is not None and shows_its_sliders(demo, vae), "the stroke, on the server")
    assert demo.server_calls(before) > 0
    eventually(lambda: held, "the encoder's request")
    held[0].continue_()
    demo.page.wait_for_selector("[data-browser=ready]", timeout=WAIT_S * 1000)
    demo.clear_pad()
    before = len(demo.requests)
    demo.draw(seven_stroke(10))
    eventually(lambda: demo.seen_pixels() is not None and shows_its_sliders(demo, vae), "the stroke, in the browser")
    assert demo.server_calls(before) == 0
