"""The demo's named API endpoints through ``gradio_client``, against a live server on a free port.

One server serves the whole module; every test leaves it running, so the last test also
shows that none of the bad inputs before it took the server down.
"""

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from vaeport.ui.app import MAX_UPLOAD_BYTES
from vaeport.ui.images import to_uint8

pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")  # pandas deprecations inside Gradio


@pytest.fixture(scope="module")
def client(demo_url):
    return Client(demo_url, verbose=False)


def png(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("L"))


def decoded(vae, values) -> np.ndarray:
    return to_uint8(vae.decode(np.asarray(values, dtype=np.float32)))


def test_exactly_the_three_named_endpoints_are_offered(client, vae):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert sorted(endpoints) == ["/decode", "/encode", "/sample"]
    assert [p["label"] for p in endpoints["/decode"]["parameters"]] == [f"z{i}" for i in range(vae.latent_dim)]
    assert [p["label"] for p in endpoints["/sample"]["parameters"]] == ["digit", "seed"]


def test_decode_returns_the_digit_for_positional_latent_values(client, vae):
    values = [0.25 * ((i % 3) - 1) for i in range(vae.latent_dim)]
    np.testing.assert_array_equal(png(client.predict(*values, api_name="/decode")), decoded(vae, values))


def test_sample_is_reproducible_and_its_values_decode_to_its_image(client, vae):
    *values, image = client.predict(2, 5, api_name="/sample")
    *again, _ = client.predict(2, 5, api_name="/sample")
    *other, _ = client.predict(2, 6, api_name="/sample")
    assert list(values) == list(again) != list(other)
    np.testing.assert_array_equal(png(image), decoded(vae, values))
    np.testing.assert_array_equal(png(client.predict(*values, api_name="/decode")), png(image))


def test_encode_of_a_decoded_digit_lands_near_its_latent_values(client, vae, tmp_path):
    """A decoded digit is already MNIST-like, so encoding it again returns latent values that
    decode to nearly the same image (mean absolute pixel difference under 10%)."""
    *values, image = client.predict(5, 1, api_name="/sample")
    *encoded, reconstruction = client.predict(handle_file(image), api_name="/encode")
    assert len(encoded) == vae.latent_dim
    np.testing.assert_array_equal(png(reconstruction), decoded(vae, encoded))
    assert np.abs(png(reconstruction) / 255.0 - png(image) / 255.0).mean() < 0.1


@pytest.mark.parametrize(
    "endpoint, args, message",
    [
        ("/decode", [99.0], r"z0 must lie in \["),
        ("/decode", ["big"], "z0 must be a number; got 'big'"),
        ("/decode", [None], "z0 must be a number; got None"),
        ("/sample", [12, 0], "digit must be a whole number from 0 to 9; got 12"),
        ("/sample", [3, -1], "seed must be"),
    ],
)
def test_bad_values_get_a_clear_message(client, vae, endpoint, args, message):
    if endpoint == "/decode":
        args = args + [0.0] * (vae.latent_dim - 1)
    with pytest.raises(AppError, match=message):
        client.predict(*args, api_name=endpoint)


def test_bad_images_get_a_clear_message(client, tmp_path):
    blank, text, huge = tmp_path / "blank.png", tmp_path / "notes.png", tmp_path / "huge.png"
    Image.new("RGB", (64, 64), "white").save(blank)
    text.write_text("a shopping list, not an image")
    Image.new("1", (4097, 4097)).save(huge)  # a few kilobytes that would unpack to 16 megapixels
    for path, message in ((blank, "the drawing is empty"), (text, "not an image"), (huge, "4097x4097 pixels")):
        with pytest.raises(AppError, match=message):
            client.predict(handle_file(str(path)), api_name="/encode")


def test_uploads_over_the_size_limit_are_refused_by_the_server(client):
    """gradio_client checks the limit itself, so the upload goes straight to the server here."""
    response = httpx.post(
        client.src.rstrip("/") + "/gradio_api/upload",
        files={"files": ("big.png", b"\0" * (MAX_UPLOAD_BYTES + 1), "image/png")},
        timeout=60,
    )
    assert response.status_code == 413


def test_many_clients_are_served_at_once_and_get_their_own_answers(client, vae):
    seeds = list(range(16))
    with ThreadPoolExecutor(max_workers=len(seeds)) as pool:
        results = list(pool.map(lambda seed: client.predict(seed % 10, seed, api_name="/sample"), seeds))
    for seed, (*values, image) in zip(seeds, results):
        assert list(values) == list(client.predict(seed % 10, seed, api_name="/sample")[:-1])
        np.testing.assert_array_equal(png(image), decoded(vae, values))


def test_garbage_sent_to_any_event_gets_an_error_without_a_stack_trace(client):
    """Page events are private to the API clients but reachable over HTTP like any other."""
    base = client.src.rstrip("/")
    events = httpx.get(base + "/config").json()["dependencies"]
    assert {event["api_visibility"] for event in events if event["api_name"] not in ("decode", "encode", "sample")} == {
        "private"
    }
    for event in events:
        for data in (["x"] * len(event["inputs"]), [None] * len(event["inputs"]), [], [{"a": 1}] * 3):
            response = httpx.post(
                base + "/gradio_api/run/predict",
                json={"data": data, "fn_index": event["id"], "session_hash": "garbage"},
                timeout=30,
            )
            assert "Traceback" not in response.text and 'File "' not in response.text, response.text


def test_vaeport_demo_on_a_taken_port_says_so_and_exits_1(client):
    port = urlsplit(client.src).port
    result = subprocess.run(
        [sys.executable, "-m", "vaeport", "demo", "--port", str(port), "--device", "cpu"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1
    assert f"vaeport demo: error: cannot serve the demo on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_demo_never_imports_torch():
    code = "import sys, vaeport.ui.app; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0


def test_the_server_is_still_up_after_every_bad_request(client, vae):
    zeros = [0.0] * vae.latent_dim
    np.testing.assert_array_equal(png(client.predict(*zeros, api_name="/decode")), decoded(vae, zeros))
