"""vaeport.runtime's public API on the shipped graphs and the real onnxruntime: shapes, values,
randomness, bad input, threads, import isolation and ``vaeport info``."""

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from importlib.resources import files

import numpy as np
import onnxruntime as ort
import pytest

from vaeport.cli import main
from vaeport.errors import VaeportError
from vaeport.runtime import InputError, ModelError, VAERuntime

SHIPPED_MANIFEST = json.loads(files("vaeport.exported").joinpath("manifest.json").read_text())
D = SHIPPED_MANIFEST["latent_dim"]


@pytest.fixture(scope="module")
def images():
    """Smooth random blobs in [0, 1]: inputs that exercise the graphs without needing MNIST."""
    rng = np.random.default_rng(0)
    return rng.random((6, 28, 28), dtype=np.float32) ** 4


def test_importing_the_runtime_pulls_in_no_torch_torchvision_or_gradio():
    code = (
        "import sys, numpy as np\n"
        "from vaeport.runtime import VAERuntime, preprocess_drawing\n"
        "vae = VAERuntime.load(device='cpu')\n"
        "vae.decode(vae.encode(preprocess_drawing(np.eye(50)))[0])\n"
        "print(sorted(m for m in ('torch', 'torchvision', 'gradio', 'PIL', 'scipy') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_load_without_arguments_uses_the_shipped_model(vae):
    default = VAERuntime.load()
    assert default.manifest == SHIPPED_MANIFEST
    assert default.latent_dim == D
    assert default.providers[0] in ort.get_available_providers()
    assert vae.providers == ["CPUExecutionProvider"] and vae.device == "cpu"
    info = vae.info()
    assert info["model"]["metrics"] == SHIPPED_MANIFEST["metrics"]
    assert info["onnxruntime"]["version"] == ort.__version__


@pytest.mark.parametrize("layout", ["N,28,28", "N,1,28,28"])
def test_batches_keep_their_shape_and_single_items_come_back_single(vae, images, layout):
    batch = images if layout == "N,28,28" else images[:, None]
    mu, logvar = vae.encode(batch)
    assert mu.shape == logvar.shape == (len(images), D) and mu.dtype == np.float32
    single_mu, single_logvar = vae.encode(images[2])
    assert single_mu.shape == (D,)
    np.testing.assert_allclose(single_mu, mu[2], atol=1e-5)
    np.testing.assert_allclose(single_logvar, logvar[2], atol=1e-5)

    decoded = vae.decode(mu)
    assert decoded.shape == (len(images), 28, 28) and decoded.dtype == np.float32
    assert decoded.min() >= 0.0 and decoded.max() <= 1.0
    np.testing.assert_allclose(vae.decode(mu[2]), decoded[2], atol=1e-6)
    assert vae.reconstruct(batch).shape == batch.shape
    assert vae.reconstruct(images[2]).shape == (28, 28)


def test_uint8_pixels_are_read_as_0_to_255(vae, images):
    as_uint8 = np.round(images * 255).astype(np.uint8)
    np.testing.assert_allclose(vae.encode(as_uint8)[0], vae.encode(as_uint8 / 255.0)[0], atol=1e-5)


def test_reconstruct_decodes_the_posterior_mean(vae, images):
    mu, _ = vae.encode(images)
    np.testing.assert_allclose(vae.reconstruct(images), vae.decode(mu), atol=1e-6)


def test_sample_is_seeded_and_decodes_prior_draws(vae):
    first = vae.sample(5, seed=7)
    assert first.shape == (5, 28, 28) and first.min() >= 0.0 and first.max() <= 1.0
    np.testing.assert_array_equal(first, vae.sample(5, seed=7))
    assert not np.allclose(first, vae.sample(5, seed=8))
    np.testing.assert_allclose(first, vae.decode(vae.sample_latents(5, seed=7)), atol=1e-6)
    z = vae.sample_latents(20_000, seed=0)
    assert z.shape == (20_000, D) and z.dtype == np.float32
    # The moments of the model's prior (a mixture or N(0, I)): its mean, and the total variance
    # sum_k w_k (sigma_k^2 + mu_k^2) - mean^2, within 5 standard errors of 20,000 draws.
    prior = vae.prior
    mean = prior.mean()
    variance = prior.weights @ (np.exp(prior.logvars) + prior.means**2) - mean**2
    np.testing.assert_allclose(z.mean(axis=0), mean, atol=5 * np.sqrt(variance / 20_000).max())
    np.testing.assert_allclose(z.var(axis=0), variance, rtol=0.05)


def test_sample_posterior_draws_from_n_mu_sigma(vae):
    mu = np.linspace(-2, 2, D, dtype=np.float32)
    logvar = np.linspace(-4, 1, D, dtype=np.float32)
    z = vae.sample_posterior(mu, logvar, n=20_000, seed=3)
    assert z.shape == (20_000, D)
    sigma = np.exp(0.5 * logvar)
    np.testing.assert_allclose(z.mean(axis=0), mu, atol=5 * sigma.max() / np.sqrt(20_000))
    np.testing.assert_allclose(z.std(axis=0), sigma, rtol=0.05)
    np.testing.assert_array_equal(z[:10], vae.sample_posterior(mu, logvar, n=20_000, seed=3)[:10])
    assert vae.sample_posterior(mu, logvar).shape == (1, D)
    batch = vae.sample_posterior(np.stack([mu, -mu]), np.stack([logvar, logvar]), n=4, seed=0)
    assert batch.shape == (4, 2, D)


def test_interpolate_runs_from_z0_to_z1(vae):
    z0, z1 = np.zeros(D, np.float32), np.linspace(-1, 1, D, dtype=np.float32)
    path = vae.interpolate(z0, z1, 5)
    assert path.shape == (5, D)
    np.testing.assert_array_equal(path[0], z0)
    np.testing.assert_array_equal(path[-1], z1)
    np.testing.assert_allclose(path[2], (z0 + z1) / 2, atol=1e-6)
    assert vae.interpolate(np.stack([z0, z1]), np.stack([z1, z0]), 3).shape == (3, 2, D)
    assert vae.decode(path).shape == (5, 28, 28)


def test_threads_and_session_options_are_honoured(vae, images):
    options = ort.SessionOptions()
    options.log_severity_level = 3
    custom = VAERuntime.load(device="cpu", threads=3, session_options=options)
    for session in custom._sessions.values():
        used = session.get_session_options()
        assert used.intra_op_num_threads == 3 and used.log_severity_level == 3
    default = VAERuntime.load(device="cpu")._sessions["decoder"].get_session_options()
    assert default.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    np.testing.assert_allclose(custom.encode(images)[0], vae.encode(images)[0], atol=1e-5)
    with pytest.raises(InputError, match="threads"):
        VAERuntime.load(device="cpu", threads=0)
    with pytest.raises(InputError, match="session_options"):
        VAERuntime.load(device="cpu", session_options={"intra_op_num_threads": 1})


def test_one_runtime_serves_many_threads_with_serial_results(vae):
    rng = np.random.default_rng(1)
    batches = [rng.random((n, 28, 28), dtype=np.float32) for n in (1, 3, 17, 64) * 8]
    latents = [rng.standard_normal((n, D), dtype=np.float32) for n in (1, 5, 33) * 8]
    serial_mu = [vae.encode(batch)[0] for batch in batches]
    serial_images = [vae.decode(z) for z in latents]
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel_mu = list(pool.map(lambda batch: vae.encode(batch)[0], batches))
        parallel_images = list(pool.map(vae.decode, latents))
    for got, want in zip(parallel_mu + parallel_images, serial_mu + serial_images):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


BAD_IMAGES = [
    (np.zeros((28, 27)), r"shape \[28, 28\], \[N, 28, 28\] or \[N, 1, 28, 28\]; got \[28, 27\]"),
    (np.zeros((2, 3, 28, 28)), r"got \[2, 3, 28, 28\]"),
    (np.zeros((1, 1, 1, 28, 28)), r"got \[1, 1, 1, 28, 28\]"),
    (np.zeros((0, 28, 28)), "empty batch"),
    (np.full((28, 28), np.nan), "NaN or infinite"),
    (np.full((28, 28), np.inf, np.float32), "NaN or infinite"),
    (np.full((28, 28), 1.5), r"floats from 1\.5 to 1\.5; expected float pixels in \[0, 1\]"),
    (np.full((28, 28), -0.1), r"expected float pixels in \[0, 1\]"),
    (np.full((28, 28), 255, np.int64), "must be uint8 .* got dtype int64"),
    (np.full((28, 28), None, object), "dtype object"),
    (np.full((28, 28), "a"), "dtype <U1"),
    (np.ones((28, 28), bool), "dtype bool"),
    (np.ones((28, 28), complex), "dtype complex128"),
    ([[0.0] * 28] * 27 + [[0.0] * 3], "numpy could not make one"),
    ("not an image", "dtype <U12"),
]


@pytest.mark.parametrize("bad, message", BAD_IMAGES)
@pytest.mark.parametrize("method", ["encode", "reconstruct"])
def test_bad_images_are_refused_with_what_was_expected(vae, bad, message, method):
    with pytest.raises(InputError, match=message) as caught:
        getattr(vae, method)(bad)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, VaeportError)


BAD_LATENTS = [
    (np.zeros(D + 1), rf"shape \[{D}\] or \[N, {D}\] \(this model's latent_dim is {D}\); got \[{D + 1}\]"),
    (np.zeros((2, D - 1)), rf"got \[2, {D - 1}\]"),
    (np.zeros((1, 2, D)), rf"got \[1, 2, {D}\]"),
    (np.float32(0.5), r"got \[\]"),
    (np.zeros((0, D)), "empty batch"),
    (np.full(D, np.nan), r"NaN or infinite value\(s\), the first at index \(0,\)"),
    (np.full(D, 1e300), "NaN or infinite"),
    (
        np.array([[0.0] * (D - 1) + [np.nan]] * 3, np.float32),
        rf"3 NaN or infinite value\(s\), the first at index \(0, {D - 1}\)",
    ),
    (np.array([np.inf] + [0.0] * (D - 1), np.float32), r"NaN or infinite value\(s\), the first at index \(0,\)"),
    (np.full(D, None, object), "dtype object"),
    (["a"] * D, "dtype <U1"),
]


@pytest.mark.parametrize("bad, message", BAD_LATENTS)
def test_bad_latents_are_refused_with_what_was_expected(vae, bad, message):
    with pytest.raises(InputError, match=message):
        vae.decode(bad)


def test_plain_lists_and_integer_latents_are_accepted(vae):
    z = [0] * D
    np.testing.assert_allclose(vae.decode(z), vae.decode(np.zeros(D, np.float32)))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda vae: vae.sample(0), "n must be a whole number of at least 1; got 0"),
        (lambda vae: vae.sample(2.5), "got 2.5"),
        (lambda vae: vae.sample(True), "got True"),
        (lambda vae: vae.sample(2, seed=-1), "seed must be"),
        (lambda vae: vae.sample(2, seed="x"), "seed must be"),
        (lambda vae: vae.sample_posterior(np.zeros(D), np.zeros((2, D))), "same shape"),
        (lambda vae: vae.sample_posterior(np.zeros(D), np.full(D, 500.0)), "overflow"),
        (lambda vae: vae.sample_posterior(np.zeros(D), np.zeros(D), n=0), "n must be"),
        (lambda vae: vae.sample_posterior(np.zeros(D + 1), np.zeros(D + 1)), "mu must have shape"),
        (lambda vae: vae.interpolate(np.zeros(D), np.zeros(D), 1), "steps must be a whole number of at least 2"),
        (lambda vae: vae.interpolate(np.zeros(D), np.zeros((1, D)), 3), "same shape"),
    ],
)
def test_bad_arguments_are_refused(vae, call, message):
    with pytest.raises(InputError, match=message):
        call(vae)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"device": "gpu"}, InputError, 'device must be "auto", "cpu", "cuda" or "cuda:N"'),
        ({"device": "cpu:1"}, InputError, "device must be"),
        ({"device": None}, InputError, "device must be"),
        ({"precision": "fp16"}, InputError, r"precision must be one of \['fp32', 'int8'\]; got 'fp16'"),
        ({"model_dir": "/nonexistent/model"}, ModelError, "/nonexistent/model does not exist"),
        ({"model_dir": 3}, InputError, "model_dir must be a folder path"),
    ],
)
def test_bad_load_arguments_name_what_was_wrong(kwargs, error, message):
    with pytest.raises(error, match=message):
        VAERuntime.load(**kwargs)


def test_a_file_given_as_model_folder_is_refused(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"")
    with pytest.raises(ModelError, match="is a file") as caught:
        VAERuntime.load(path)
    assert isinstance(caught.value, RuntimeError)


def test_vaeport_info_prints_onnxruntime_providers_and_the_manifest(capsys):
    assert main(["info", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert f"module version:      {ort.__version__}" in out
    assert "available providers: " + ", ".join(ort.get_available_providers()) in out
    assert "active providers:    CPUExecutionProvider" in out
    assert f"latent size:         {D}" in out
    table = out.split("\nmetrics (")[1].splitlines()
    for precision, metrics in SHIPPED_MANIFEST["metrics"].items():
        row = next(line.split() for line in table if line.split()[0] == precision)
        assert f"{metrics['neg_elbo']:.6g}" in row
    for roles in SHIPPED_MANIFEST["graphs"].values():
        for entry in roles.values():
            assert entry["sha256"] in out


def test_vaeport_info_reports_a_bad_device_as_one_line(capsys):
    assert main(["info", "--device", "tpu"]) == 1
    assert "vaeport info: error: device must be" in capsys.readouterr().err


def test_without_onnxruntime_the_import_says_what_to_install():
    """``sys.modules["onnxruntime"] = None`` makes the import fail as on a base install without it."""
    code = (
        "import sys\n"
        "sys.modules['onnxruntime'] = None\n"
        "from vaeport.cli import main\n"
        "raise SystemExit(main(['info']))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    assert "vaeport info: error: vaeport.runtime needs onnxruntime" in result.stderr
    assert "pip install 'vaeport[cpu]'" in result.stderr and "Traceback" not in result.stderr


# --- each image's ELBO ------------------------------------------------------------------------


def test_an_images_elbo_is_its_reconstruction_cost_plus_its_kl_at_the_given_z(vae, images):
    image = images[0].astype(np.float64)
    mu, logvar = vae.encode(images[0])
    z = mu + 0.5
    figures = vae.elbo(images[0], z=z)
    p = vae.decode(z).astype(np.float64)
    bce = -(image * np.log(p) + (1 - image) * np.log1p(-p)).sum()
    log_q = -0.5 * np.sum(np.log(2 * np.pi) + logvar + (z - mu) ** 2 / np.exp(logvar))
    log_p = float(vae.prior.log_prob(z))
    assert figures["recon_bce"] == pytest.approx(bce, rel=1e-6)
    assert figures["kl"] == pytest.approx(log_q - log_p, rel=1e-6)
    assert figures["neg_elbo"] == pytest.approx(bce + log_q - log_p, rel=1e-6)
    assert figures["log_pz"] == pytest.approx(log_p, rel=1e-9)
    np.testing.assert_array_equal(figures["z"], z)


def test_an_elbo_is_taken_at_one_posterior_sample_drawn_with_the_seed(vae, images):
    first, again, other = (vae.elbo(images, seed=seed) for seed in (3, 3, 4))
    np.testing.assert_array_equal(first["neg_elbo"], again["neg_elbo"])
    assert not np.array_equal(first["z"], other["z"])
    mu, logvar = vae.encode(images)
    np.testing.assert_array_equal(first["mu"], mu)
    spread = np.abs(first["z"] - mu) / np.exp(0.5 * logvar)
    assert 0.3 < spread.mean() < 1.3  # about E|N(0, 1)| = 0.80 standard deviations from mu
    assert first["neg_elbo"].shape == (len(images),)


def test_an_elbo_needs_one_z_per_image(vae, images):
    with pytest.raises(InputError, match="one latent vector per image: 6; got 2"):
        vae.elbo(images, z=np.zeros((2, vae.latent_dim), np.float32))
