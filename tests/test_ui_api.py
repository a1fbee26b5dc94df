"""The demo's server over HTTP: the named API endpoints through ``gradio_client``, the page's server
functions as a client could call them, against a live server on a free port.

One server serves the whole module; every test leaves it running, so the last test also
shows that none of the bad inputs before it took the server down.
"""

import base64
import re
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

from vaeport.ui.app import MAX_UPLOAD_BYTES, PAGE_FUNCTIONS
from vaeport.ui.assets import ORT_WEB
from vaeport.ui.gradio_internals import SERVER_FUNCTION_ROUTE
from vaeport.ui.images import to_uint8

pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")  # pandas deprecations inside Gradio


@pytest.fixture(scope="module")
def client(api_url):
    return Client(api_url, verbose=False)


def png(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("L"))


def decoded(vae, values) -> np.ndarray:
    return to_uint8(vae.decode(np.asarray(values, dtype=np.float32)))


def test_exactly_the_three_named_endpoints_are_offered_with_typed_parameters(client, vae):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert sorted(endpoints) == ["/decode", "/encode", "/sample"]
    names = {name: [p["parameter_name"] for p in endpoint["parameters"]] for name, endpoint in endpoints.items()}
    assert names == {
        "/decode": [f"z{i}" for i in range(vae.latent_dim)],
        "/encode": ["image"],
        "/sample": ["digit", "seed"],
    }
    assert [p["python_type"]["type"] for p in endpoints["/sample"]["parameters"]] == ["int", "None | int"]
    assert len(endpoints["/encode"]["returns"]) == len(endpoints["/sample"]["returns"]) == vae.latent_dim + 1


def test_decode_returns_the_digit_for_positional_latent_values(client, vae):
    values = [0.25 * ((i % 3) - 1) for i in range(vae.latent_dim)]
    np.testing.assert_array_equal(png(client.predict(*values, api_name="/decode")), decoded(vae, values))


def test_sample_is_reproducible_and_its_values_decode_to_its_image(client, vae):
    *values, image = client.predict(2, 5, api_name="/sample")
    *again, _ = client.predict(2, 5, api_name="/sample")
    *other, _ = client.predict(2, 6, api_name="/sample")
    *fresh, _ = client.predict(2, None, api_name="/sample")
    assert list(values) == list(again) != list(other)
    assert len(fresh) == vae.latent_dim
    np.testing.assert_array_equal(png(image), decoded(vae, values))
    np.testing.assert_array_equal(png(client.predict(*values, api_name="/decode")), png(image))


def test_encode_of_a_decoded_digit_lands_near_its_latent_values(client, vae):
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
        ("/sample", [3, 2.5], "seed must be a whole number of at least 0, or None for a fresh sample; got 2.5"),
        ("/sample", [3, "7"], "seed must be a whole number"),
    ],
)
def test_bad_values_get_a_clear_message(client, vae, endpoint, args, message):
    if endpoint == "/decode":
        args = args + [0.0] * (vae.latent_dim - 1)
    with pytest.raises(AppError, match=message):
        client.predict(*args, api_name=endpoint)


def test_an_api_call_with_one_value_too_many_is_refused(client, vae):
    """Gradio itself drops the values beyond an endpoint's inputs unseen; the demo refuses them through
    an override of a Gradio internal (``StrictBlocks`` in ``ui/gradio_internals.py``). Should a Gradio
    release stop calling it, each of these calls would succeed on the values it kept."""
    *_, image = client.predict(7, 0, api_name="/sample")
    names = ", ".join(f"z{i}" for i in range(vae.latent_dim))
    calls = (
        (
            "/decode",
            [0.0] * (vae.latent_dim + 1),
            f"/decode takes {vae.latent_dim} values ({names}); got {vae.latent_dim + 1}",
        ),
        ("/encode", [handle_file(image), 0.0], "/encode takes 1 value (image); got 2"),
        ("/sample", [3, 0, 1], "/sample takes 2 values (digit, seed); got 3"),
    )
    for endpoint, args, message in calls:
        with pytest.raises(AppError, match=re.escape(message)):
            client.predict(*args, api_name=endpoint)


def test_bad_images_get_a_clear_message(client, tmp_path):
    blank, text, huge = tmp_path / "blank.png", tmp_path / "notes.png", tmp_path / "huge.png"
    Image.new("RGB", (64, 64), "white").save(blank)
    text.write_text("a shopping list, not an image")
    Image.new("1", (4097, 4097)).save(huge)  # a few kilobytes that would unpack to 16 megapixels
    for path, message in ((blank, "the drawing is empty"), (text, "not an image"), (huge, "4097x4097 pixels")):
        with pytest.raises(AppError, match=message):
            client.predict(handle_file(str(path)), api_name="/encode")


def test_encode_reads_only_files_uploaded_to_the_server(client, api_url):
    """A file reference is data from the client: a path outside Gradio's uploads is never read."""
    for reference, message in (
        ({"path": "/etc/hostname"}, "must be a file uploaded to this server"),
        ("/etc/hostname", "expected an uploaded image file"),
    ):
        with httpx.Client(base_url=api_url.rstrip("/") + "/gradio_api", timeout=30) as http:
            event = http.post("/call/encode", json={"data": [reference]}).json()["event_id"]
            answer = http.get(f"/call/encode/{event}").text
        assert "event: error" in answer and message in answer, answer


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


def _call_page_function(base: str, name: str, data):
    config = httpx.get(base + "/config", timeout=30).json()
    (component,) = [c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == "vaeport-demo"]
    return httpx.post(
        f"{base}/{SERVER_FUNCTION_ROUTE}/",
        json={"data": data, "component_id": component, "session_hash": "anyone", "fn_name": name},
        timeout=30,
    )


def test_the_pages_server_functions_answer_what_the_page_asks(client, vae):
    base = client.src.rstrip("/")
    values = [0.1] * vae.latent_dim
    answer = _call_page_function(base, "decode", values).json()
    assert answer["values"] == values and answer["ms"] > 0
    assert (
        np.abs(np.frombuffer(base64.b64decode(answer["pixels"]), np.uint8).reshape(28, 28) - decoded(vae, values)).max()
        == 0
    )
    assert sorted(_call_page_function(base, "sample", 7).json()) == [
        "figures",
        "logvar",
        "ms",
        "mu",
        "pixels",
        "values",
    ]
    assert len(_call_page_function(base, "morph", [0, 9]).json()["frames"]) == 8
    blank_pad = "28:" + base64.b64encode(bytes(28 * 28)).decode()
    assert _call_page_function(base, "draw", {"pixels": blank_pad, "noise": [0] * 10}).json() == {"empty": True}


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("decode", "x", "expected a list of 10 latent values; got str"),
        ("decode", [1e9] * 10, "z0 must lie in"),
        ("decode", [], "expected 10 latent values z0..z9; got 0"),
        ("decode", None, "expected a list of 10 latent values; got NoneType"),
        ("draw", {"a": 1}, "expected the drawing as {pixels, noise}"),
        ("draw", {"pixels": 5, "noise": [0] * 10}, "expected the pad's pixels as text; got int"),
        ("draw", {"pixels": "9999:AAAA", "noise": [0] * 10}, "drawing pixels must start with the canvas side"),
        ("draw", {"pixels": "28:@@@@", "noise": [0] * 10}, "drawing pixels must be base64"),
        ("draw", {"pixels": "28:AAAA", "noise": [1e9] * 10}, "expected the stroke's noise"),
        ("sample", "3", "digit must be a whole number from 0 to 9; got '3'"),
        ("sample", [3], "digit must be a whole number from 0 to 9"),
        ("morph", [3], "expected two digits [first, second]; got [3]"),
        ("morph", [3, 10], "second digit must be a whole number from 0 to 9; got 10"),
    ],
)
def test_garbage_sent_to_the_pages_server_functions_gets_a_clear_error(client, name, data, message):
    response = _call_page_function(client.src.rstrip("/"), name, data)
    assert response.status_code == 200
    assert message in response.json()["error"]


def test_only_the_page_functions_are_callable(client):
    assert set(PAGE_FUNCTIONS) == {"decode", "draw", "sample", "prior", "morph"}
    assert _call_page_function(client.src.rstrip("/"), "__init__", None).status_code == 404


def test_vaeport_demo_on_a_taken_port_says_so_and_exits_1(client):
    port = urlsplit(client.src).port
    result = subprocess.run(
        [sys.executable, "-m", "vaeport", "demo", "--port", str(port), "--device", "cpu"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert f"vaeport demo: error: cannot serve the demo on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_vaeport_demo_refuses_an_onnxruntime_web_folder_of_another_version(tmp_path):
    (tmp_path / "ort.wasm.bundle.min.mjs").write_text("export {};")
    (tmp_path / "ort-wasm-simd-threaded.wasm").write_bytes(b"\0asm")
    result = subprocess.run(
        [sys.executable, "-m", "vaeport", "demo", "--ort-web", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert f"is not the file of onnxruntime-web {ORT_WEB['version']} (its SHA-384 differs)" in result.stderr


def test_the_demo_never_imports_torch():
    code = "import sys, vaeport.ui.app, vaeport.ui.web; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0


def test_the_server_is_still_up_after_every_bad_request(client, vae):
    zeros = [0.0] * vae.latent_dim
    np.testing.assert_array_equal(png(client.predict(*zeros, api_name="/decode")), decoded(vae, zeros))
