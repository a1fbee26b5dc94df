"""The training layer: model, loss, data errors, export checks and the shipped model."""

import json
import math
import shlex
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import onnx
import pytest
import torch

from conftest import REPO, SHIPPED_MODEL, graph_weights
from vaeport.cli import build_parser, train_config
from vaeport.contract import GRAPH_FILES, MANIFEST_FILE, sha256_file
from vaeport.runtime import VAERuntime
from vaeport.runtime.elbo import bce_from_probabilities
from vaeport.runtime.errors import ModelIntegrityError
from vaeport.runtime.prior import Prior, gaussian_log_prob
from vaeport.runtime.sessions import open_graph
from vaeport.training import export as export_module
from vaeport.training.checkpoint import load_checkpoint
from vaeport.training.config import TrainConfig
from vaeport.training.data import load_mnist
from vaeport.training.errors import CheckpointError, ConfigError, DataError, ExportError
from vaeport.training.evaluate import evaluate_graphs, load_test_digits
from vaeport.training.export import derive, export
from vaeport.training.loss import negative_elbo
from vaeport.training.mnist_files import read_idx
from vaeport.training.model import VAE, Decoder, DecoderProbabilities, reparameterize, sample_prior
from vaeport.training.onnx_weights import load_torch_modules
from vaeport.training.quality import quality_metrics
from vaeport.training.train import _kl_weight, train

SMALL = dict(
    latent_dim=4,
    channels=(8, 16),
    hidden=(64, 32),
    threads=1,
    epochs=1,
    batch_size=32,
    lr=3e-3,
    ema_decay=0.9,
    kl_warmup_epochs=0,
    train_limit=2048,
    test_limit=500,
)


BLOCK_TORCH = """
import builtins, sys
real_import = builtins.__import__
def blocked(name, *args, **kwargs):
    if name.split(".")[0] in ("torch", "torchvision", "onnx"):
        raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
    return real_import(name, *args, **kwargs)
builtins.__import__ = blocked
from vaeport.cli import main
sys.exit(main({argv!r}))
"""


def vaeport_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "vaeport", *map(str, args)], capture_output=True, text=True, timeout=600
    )


# --- model and loss on small arrays -------------------------------------------------------


@pytest.mark.parametrize("prior", ["standard", "mog", "vamp"])
def test_shapes_follow_the_configuration(prior):
    model = VAE(latent_dim=3, hidden=(20, 10), prior=prior, prior_components=4)
    logits, mu, logvar, z = model(torch.rand(5, 1, 28, 28))
    assert logits.shape == (5, 1, 28, 28)
    assert mu.shape == logvar.shape == z.shape == (5, 3)
    assert model.decoder(torch.zeros(2, 3)).shape == (2, 1, 28, 28)
    mixture = model.prior_mixture()
    if prior == "standard":
        assert mixture is None
    else:
        log_weights, means, logvars = mixture
        assert log_weights.shape == (4,) and means.shape == logvars.shape == (4, 3)
        assert torch.logsumexp(log_weights, 0).item() == pytest.approx(0.0, abs=1e-6)
    assert sample_prior(model, 6, torch.Generator().manual_seed(0)).shape == (6, 3)


def test_negative_elbo_matches_a_hand_computation():
    logits = torch.tensor([[0.5, -1.0, 2.0, 0.0]]).repeat(1, 196).view(1, 1, 28, 28)
    target = torch.tensor([[1.0, 0.0, 0.25, 0.5]]).repeat(1, 196).view(1, 1, 28, 28)
    mu, logvar = torch.tensor([[0.5, -1.0]]), torch.tensor([[0.0, math.log(4.0)]])

    def bce(logit, x):
        p = 1 / (1 + math.exp(-logit))
        return -(x * math.log(p) + (1 - x) * math.log(1 - p))

    expected_bce = 196 * sum(bce(logit, x) for logit, x in [(0.5, 1.0), (-1.0, 0.0), (2.0, 0.25), (0.0, 0.5)])
    # KL(N(mu, s^2) || N(0, 1)) = 0.5 * (s^2 + mu^2 - 1 - log s^2), summed over dimensions
    expected_kl = 0.5 * (1 + 0.25 - 1 - 0) + 0.5 * (4 + 1 - 1 - math.log(4.0))
    total, got_bce, got_kl = negative_elbo(logits, target, mu, logvar)
    assert got_bce.item() == pytest.approx(expected_bce, rel=1e-5)
    assert got_kl.item() == pytest.approx(expected_kl, rel=1e-5)
    assert total.item() == pytest.approx(expected_bce + expected_kl, rel=1e-5)


# A mixture of two diagonal Gaussians in two dimensions and one posterior, small enough to work by hand.
MIXTURE = dict(
    weights=[0.25, 0.75], means=[[0.0, 1.0], [-1.0, 0.5]], logvars=[[0.0, math.log(4.0)], [math.log(0.25), 0.0]]
)
POSTERIOR = dict(mu=[0.5, -1.0], logvar=[0.0, math.log(4.0)], z=[0.2, 0.4])


def _hand_mixture_kl_estimate() -> float:
    """log q(z|x) - log p(z) at z, written out with math alone."""

    def normal_pdf(x, mean, var):
        return math.exp(-0.5 * (x - mean) ** 2 / var) / math.sqrt(2 * math.pi * var)

    (z1, z2), (m1, m2) = POSTERIOR["z"], POSTERIOR["mu"]
    q = normal_pdf(z1, m1, 1.0) * normal_pdf(z2, m2, 4.0)
    p = 0.25 * normal_pdf(z1, 0.0, 1.0) * normal_pdf(z2, 1.0, 4.0) + 0.75 * normal_pdf(z1, -1.0, 0.25) * normal_pdf(
        z2, 0.5, 1.0
    )
    return math.log(q) - math.log(p)


def test_negative_elbo_with_a_mixture_prior_matches_a_hand_computation():
    logits = torch.tensor([[0.5, -1.0, 2.0, 0.0]]).repeat(1, 196).view(1, 1, 28, 28)
    target = torch.tensor([[1.0, 0.0, 0.25, 0.5]]).repeat(1, 196).view(1, 1, 28, 28)
    mixture = (torch.tensor(MIXTURE["weights"]).log(), torch.tensor(MIXTURE["means"]), torch.tensor(MIXTURE["logvars"]))
    mu, logvar, z = (torch.tensor([POSTERIOR[key]]) for key in ("mu", "logvar", "z"))
    _, expected_bce, _ = negative_elbo(logits, target, mu, logvar)
    total, bce, kl = negative_elbo(logits, target, mu, logvar, z, mixture)
    assert bce.item() == expected_bce.item()
    assert kl.item() == pytest.approx(_hand_mixture_kl_estimate(), rel=1e-5)
    assert total.item() == pytest.approx(expected_bce.item() + _hand_mixture_kl_estimate(), rel=1e-6)


def test_graph_measure_with_a_mixture_prior_matches_a_hand_computation():
    """The numpy measure of the graphs: BCE of the decoder's probabilities plus log q(z|x) - log p(z)."""
    probs = np.tile(np.array([0.5, 0.25, 0.9, 1e-3], np.float32), 196).reshape(1, 1, 28, 28)
    target = np.tile(np.array([1.0, 0.0, 0.25, 0.5], np.float32), 196).reshape(1, 1, 28, 28)
    expected_bce = -196 * sum(
        x * math.log(p) + (1 - x) * math.log(1 - p) for p, x in [(0.5, 1.0), (0.25, 0.0), (0.9, 0.25), (1e-3, 0.5)]
    )
    prior = Prior(np.array(MIXTURE["weights"]), np.array(MIXTURE["means"]), np.array(MIXTURE["logvars"]), "two by hand")
    mu, logvar, z = (np.array([POSTERIOR[key]], np.float32) for key in ("mu", "logvar", "z"))
    bce = bce_from_probabilities(probs, target)
    kl = gaussian_log_prob(z, mu, logvar) - prior.log_prob(z)
    assert bce[0] == pytest.approx(expected_bce, rel=1e-6)
    assert kl[0] == pytest.approx(_hand_mixture_kl_estimate(), rel=1e-6)


def test_pytorch_and_the_graphs_measure_with_the_same_estimator():
    """At the same z the training measure and the graphs' measure agree, for each kind of prior."""
    for prior in ("standard", "mog", "vamp"):
        torch.manual_seed(0)
        model = VAE(latent_dim=3, hidden=(20, 10), prior=prior, prior_components=4).eval()
        images = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            logits, mu, logvar, z = model(images, torch.Generator().manual_seed(2))
            _, torch_bce, torch_kl = negative_elbo(logits, images, mu, logvar, z, model.prior_mixture())
            mixture = model.prior_mixture()
        numpy_bce = bce_from_probabilities(torch.sigmoid(logits).numpy(), images.numpy())
        if mixture is None:
            numpy_kl = -0.5 * np.sum(
                1 + logvar.double().numpy() - mu.double().numpy() ** 2 - np.exp(logvar.double().numpy()), axis=1
            )
        else:
            log_weights, means, logvars = (t.detach().double().numpy() for t in mixture)
            numpy_prior = Prior(np.exp(log_weights), means, logvars, prior)
            numpy_kl = gaussian_log_prob(z.numpy(), mu.numpy(), logvar.numpy()) - numpy_prior.log_prob(z.numpy())
        np.testing.assert_allclose(torch_bce.numpy(), numpy_bce, rtol=1e-4)
        np.testing.assert_allclose(torch_kl.numpy(), numpy_kl, rtol=1e-4, atol=1e-4)


def test_gradients_flow_through_the_reparameterisation():
    mu = torch.tensor([[0.3, -0.2]], requires_grad=True)
    logvar = torch.tensor([[0.1, -0.4]], requires_grad=True)
    generator = torch.Generator().manual_seed(3)
    z = reparameterize(mu, logvar, generator)
    z.sum().backward()
    eps = torch.randn((1, 2), generator=torch.Generator().manual_seed(3))
    assert torch.allclose(z.detach(), mu.detach() + torch.exp(0.5 * logvar.detach()) * eps)
    assert torch.allclose(mu.grad, torch.ones(1, 2))
    assert torch.allclose(logvar.grad, 0.5 * torch.exp(0.5 * logvar.detach()) * eps)


def test_kl_warmup_rises_linearly_then_stays_at_one():
    config = TrainConfig(kl_warmup_epochs=2)
    weights = [_kl_weight(config, step, steps_per_epoch=10) for step in (0, 5, 10, 19, 20, 500)]
    assert weights == [0.0, 0.25, 0.5, 0.95, 1.0, 1.0]
    assert _kl_weight(TrainConfig(kl_warmup_epochs=0), 0, steps_per_epoch=10) == 1.0


def test_active_units_count_dimensions_whose_mean_varies():
    mu = torch.stack([torch.linspace(-1, 1, 100), torch.full((100,), 0.3), 0.05 * torch.linspace(-1, 1, 100)], dim=1)
    metrics = quality_metrics(np.ones(100), np.zeros(100), mu.numpy())
    assert metrics["active_units"] == 1  # only the first varies by more than 0.01 (variance 0.34 vs 0 and 0.0009)
    assert metrics["neg_elbo"] == pytest.approx(1.0)


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("latent_dim", 0, "latent_dim"),
        ("epochs", -3, "epochs"),
        ("hidden", (), "hidden"),
        ("architecture", "resnet", "architecture must be one of"),
        ("channels", (), "channels must list 1 to 2 convolutions"),
        ("channels", (8, 16, 32), "channels must list 1 to 2 convolutions"),
        ("channels", (8, 0), "channels must be positive"),
        ("lr", 0.0, "lr"),
        ("activation", "tanhh", "activation"),
        ("ema_decay", 1.0, "ema_decay"),
        ("dropout", 1.0, "dropout"),
        ("kl_warmup_epochs", -1, "kl_warmup_epochs"),
        ("weight_decay", -0.1, "weight_decay"),
        ("prior", "flow", "prior must be one of"),
        ("prior_components", 0, "prior_components"),
        ("prior_weight_decay", -1.0, "prior_weight_decay"),
    ],
)
def test_nonsense_hyperparameters_are_refused(field, value, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**{field: value})


def test_a_record_without_an_architecture_describes_an_mlp():
    """Models exported before the conv architecture record no `architecture`: they are MLPs, with no
    convolutions whatever the default channels."""
    record = {key: value for key, value in TrainConfig().to_dict().items() if key not in ("architecture", "channels")}
    config = TrainConfig.from_dict({**record, "hidden": [64, 32]})
    assert config.architecture == "mlp" and config.channels == ()
    model = config.build_model()
    assert not any(isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)) for m in model.modules())
    assert config.to_dict()["channels"] == []


@pytest.mark.parametrize("channels", [(8,), (8, 16)])
def test_conv_model_maps_digits_to_latents_and_back_at_every_depth(channels):
    model = TrainConfig(channels=channels, hidden=(32,), latent_dim=3).build_model()
    logits, mu, logvar, z = model(torch.rand(5, 1, 28, 28))
    assert logits.shape == (5, 1, 28, 28) and mu.shape == logvar.shape == z.shape == (5, 3)
    convs = [m for m in model.encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [m.out_channels for m in convs] == list(channels)


def test_a_record_without_a_prior_describes_a_standard_normal_model():
    """A checkpoint's or manifest's record without `prior` describes a model with N(0, I)."""
    record = {key: value for key, value in TrainConfig().to_dict().items() if not key.startswith("prior")}
    assert TrainConfig.from_dict(record).prior == "standard"
    assert TrainConfig.from_dict(record).build_model().prior is None


def test_idx_reader_reads_the_header_and_refuses_truncated_files(tmp_path):
    path = tmp_path / "tiny-idx3-ubyte"
    path.write_bytes(
        bytes([0, 0, 8, 3])
        + (2).to_bytes(4, "big")
        + (3).to_bytes(4, "big")
        + (4).to_bytes(4, "big")
        + bytes(range(24))
    )
    np.testing.assert_array_equal(read_idx(path), np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(DataError, match="holds 39 bytes; its header \\[2, 3, 4\\] says 40"):
        read_idx(path)
    path.write_bytes(b"\x1f\x8b\x08\x00")  # a gzip file, not yet unpacked
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(path)


def test_cli_refuses_bad_arguments_with_a_message():
    result = vaeport_cli("train", "--latent-dim", "0")
    assert result.returncode != 0
    assert "expected a positive whole number, got 0" in result.stderr
    result = vaeport_cli("train", "--hidden", "512,-1")
    assert result.returncode != 0 and "expected a positive whole number, got -1" in result.stderr
    result = vaeport_cli("train", "--channels", "8,16,32")
    assert result.returncode != 0 and "channels must list 1 to 2 convolutions" in result.stderr
    result = vaeport_cli("train", "--architecture", "mlp", "--channels", "8,16")
    assert result.returncode != 0 and "--architecture mlp has none" in result.stderr


def test_batch_larger_than_the_data_is_refused(tmp_path, data_root):
    config = TrainConfig(**{**SMALL, "train_limit": 100, "batch_size": 200})
    with pytest.raises(ConfigError, match="batch_size 200 is larger than the 100 training digits"):
        train(config, tmp_path / "run", data_root=data_root, download=False)


def test_missing_data_names_the_folder_and_how_to_get_it(tmp_path):
    result = vaeport_cli("train", "--data-root", tmp_path / "empty", "--no-download", "--out", tmp_path / "run")
    assert result.returncode == 1
    assert f"not found in {tmp_path / 'empty' / 'MNIST' / 'raw'}" in result.stderr
    assert "train-images-idx3-ubyte" in result.stderr and "Traceback" not in result.stderr


def test_corrupt_data_files_get_a_clear_message(tmp_path, data_root):
    raw = tmp_path / "MNIST" / "raw"
    shutil.copytree(data_root / "MNIST" / "raw", raw)
    with open(raw / "t10k-images-idx3-ubyte", "r+b") as f:
        f.truncate(5000)
    with pytest.raises(DataError, match="corrupt|could not read"):
        load_mnist(tmp_path, train=False, download=False)


def test_a_data_root_that_is_a_file_is_refused(tmp_path):
    not_a_folder = tmp_path / "data"
    not_a_folder.write_text("x")
    with pytest.raises(DataError, match="is a file"):
        load_mnist(not_a_folder, train=False, download=False)


def test_corrupt_checkpoint_gets_a_clear_message(tmp_path):
    broken = tmp_path / "checkpoint.pt"
    broken.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="could not be read"):
        load_checkpoint(broken)
    result = vaeport_cli("export", broken, "--out", tmp_path / "model")
    assert result.returncode == 1 and "could not be read" in result.stderr
    assert not (tmp_path / "model").exists()


def test_an_output_folder_that_is_a_file_is_refused(tmp_path, trained):
    target = tmp_path / "model"
    target.write_text("keep me")
    with pytest.raises(ExportError, match="is a file"):
        export(trained["checkpoint"], target, download=False, test_limit=SMALL["test_limit"])
    assert target.read_text() == "keep me"
    with pytest.raises(ConfigError, match="is a file"):
        train(TrainConfig(**SMALL), target, download=False)
    assert target.read_text() == "keep me"


# --- a short real run: train, export, evaluate -------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data_root):
    """One short epoch on a slice of real MNIST, exported once for the tests below."""
    folder = tmp_path_factory.mktemp("run")
    result = train(TrainConfig(**SMALL), folder / "run", data_root=data_root, download=False)
    manifest = export(
        result["checkpoint"], folder / "model", data_root=data_root, download=False, test_limit=SMALL["test_limit"]
    )
    return {**result, "model_dir": folder / "model", "manifest": manifest, "run_dir": folder / "run"}


def test_training_writes_checkpoint_figures_and_per_epoch_metrics(trained):
    for name in ("checkpoint.pt", "loss_curve.png", "reconstructions.png", "samples.png"):
        assert (trained["run_dir"] / name).stat().st_size > 0
    (row,) = trained["history"]
    assert set(row) >= {"epoch", "train_neg_elbo", "test_neg_elbo", "test_recon_bce", "test_kl", "test_active_units"}
    assert row["test_neg_elbo"] == pytest.approx(row["test_recon_bce"] + row["test_kl"])
    assert row["test_neg_elbo"] < 300  # an untrained model scores about 543 (784 pixels x ln 2)


def test_runs_are_compared_in_one_plot_from_their_checkpoints(tmp_path, trained):
    from PIL import Image

    from vaeport.training.plots import main as plot_runs

    out = tmp_path / "runs.png"
    plot_runs([f"{trained['run_dir']}=a short run", str(trained["run_dir"]), "--out", str(out)])
    with Image.open(out) as picture:
        assert picture.format == "PNG" and picture.width > 400


def test_same_command_gives_the_same_model(tmp_path, trained, data_root):
    again = train(TrainConfig(**SMALL), tmp_path / "again", data_root=data_root, download=False)
    first, _ = load_checkpoint(trained["checkpoint"])
    second, _ = load_checkpoint(again["checkpoint"])
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items()):
        assert torch.equal(a, b), name


def test_export_follows_the_onnx_contract(trained):
    model_dir, latent = trained["model_dir"], SMALL["latent_dim"]
    encoder = onnx.load(str(model_dir / "encoder.onnx"))
    decoder = onnx.load(str(model_dir / "decoder.onnx"))

    def signature(graph_values):
        return [(v.name, [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]) for v in graph_values]

    assert signature(encoder.graph.input) == [("image", ["N", 1, 28, 28])]
    assert signature(encoder.graph.output) == [("mu", ["N", latent]), ("logvar", ["N", latent])]
    assert signature(decoder.graph.input) == [("z", ["N", latent])]
    assert signature(decoder.graph.output) == [("image", ["N", 1, 28, 28])]
    assert not [p for p in model_dir.iterdir() if p.suffix not in (".onnx", ".json")]  # no external-data side files
    assert all(init.data_location != onnx.TensorProto.EXTERNAL for init in encoder.graph.initializer)


def test_exported_graphs_compute_what_pytorch_computes(trained):
    model, _ = load_checkpoint(trained["checkpoint"])
    encoder = open_graph(trained["model_dir"] / "encoder.onnx")
    decoder = open_graph(trained["model_dir"] / "decoder.onnx")
    images = torch.rand(7, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    z = torch.randn(7, SMALL["latent_dim"], generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        mu, logvar = model.encoder(images)
        probs = torch.sigmoid(model.decoder(z))
    got_mu, got_logvar = encoder.run(None, {"image": images.numpy()})
    (got_probs,) = decoder.run(None, {"z": z.numpy()})
    np.testing.assert_allclose(got_mu, mu.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_logvar, logvar.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_probs, probs.numpy(), rtol=1e-5, atol=1e-6)
    assert got_probs.min() >= 0 and got_probs.max() <= 1


def test_decoder_graph_keeps_faint_pixels_probabilities_exact(tmp_path):
    """Probabilities far below 1e-7 must survive export: the measure charges faint pixels by their log."""
    decoder = Decoder(latent_dim=2, hidden=(4,))
    logits = torch.linspace(-80, 15, 784, dtype=torch.float64)
    with torch.no_grad():
        decoder.out.weight.zero_()
        decoder.out.bias.copy_(logits)
    path = tmp_path / "decoder.onnx"
    export_module._export_graph(DecoderProbabilities(decoder).eval(), torch.zeros(2, 2), path, "z", ["image"])
    (probs,) = open_graph(path).run(None, {"z": np.zeros((1, 2), np.float32)})
    exact = torch.sigmoid(logits).numpy()
    np.testing.assert_allclose(probs.reshape(-1), exact, rtol=1e-5)


def test_manifest_records_hashes_metrics_and_examples(trained):
    model_dir, manifest = trained["model_dir"], trained["manifest"]
    assert json.loads((model_dir / MANIFEST_FILE).read_text()) == manifest
    for precision, files in GRAPH_FILES.items():
        for part, name in files.items():
            entry = manifest["graphs"][precision][part]
            assert entry["file"] == name
            assert entry["sha256"] == sha256_file(model_dir / name)
            assert entry["bytes"] == (model_dir / name).stat().st_size
            props = {p.key: json.loads(p.value) for p in onnx.load(str(model_dir / name)).metadata_props}
            assert props == {k: v for k, v in manifest.items() if k not in ("graphs", "map")}
    assert [e["digit"] for e in manifest["examples"]] == list(range(10))
    assert all(len(e["mu"]) == len(e["logvar"]) == SMALL["latent_dim"] for e in manifest["examples"])
    assert manifest["latent_dim"] == SMALL["latent_dim"] and manifest["training"]["hidden"] == list(SMALL["hidden"])
    stats = manifest["latent_stats"]
    assert all(lo <= p1 <= p99 <= hi for lo, p1, p99, hi in zip(stats["min"], stats["p01"], stats["p99"], stats["max"]))


def test_evaluate_recomputes_the_manifest_metrics(trained):
    result = vaeport_cli("evaluate", trained["model_dir"], "--no-download", "--test-limit", SMALL["test_limit"])
    assert result.returncode == 0, result.stderr
    recomputed = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] in ("fp32", "int8"):
            recomputed[(parts[0], parts[1])] = (float(parts[2]), float(parts[3]))
    assert len(recomputed) == 8
    for (precision, key), (measured, recorded) in recomputed.items():
        assert measured == pytest.approx(recorded, abs=1e-3), (precision, key)


def test_manifest_describes_the_learned_prior_of_the_checkpoint(trained):
    """The manifest's prior is the checkpoint's: a mixture's own parameters, a VampPrior's encoded pseudo-inputs."""
    config = TrainConfig(**SMALL)
    assert config.prior != "standard", "the shipped recipe has a learned prior"
    section = trained["manifest"]["prior"]
    assert section["type"] == "gaussian_mixture" and isinstance(section["description"], str)
    model, _ = load_checkpoint(trained["checkpoint"])
    with torch.no_grad():
        log_weights, means, logvars = (t.detach() for t in model.prior_mixture())
    np.testing.assert_allclose(section["weights"], log_weights.exp().numpy(), rtol=1e-6)
    np.testing.assert_allclose(section["means"], means.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(section["logvars"], logvars.numpy(), rtol=1e-5, atol=1e-5)
    assert len(section["weights"]) == config.prior_components and sum(section["weights"]) == pytest.approx(
        1.0, abs=1e-12
    )
    prior = Prior.from_manifest(trained["manifest"])
    assert prior.sample(5, np.random.default_rng(0)).shape == (5, SMALL["latent_dim"])


def test_a_vampprior_is_exported_as_its_encoded_pseudo_inputs(tmp_path, data_root):
    config = TrainConfig(**{**SMALL, "prior": "vamp", "prior_components": 5})
    result = train(config, tmp_path / "run", data_root=data_root, download=False)
    manifest = export(
        result["checkpoint"], tmp_path / "model", data_root=data_root, download=False, test_limit=SMALL["test_limit"]
    )
    model, _ = load_checkpoint(result["checkpoint"])
    pseudo_inputs = model.prior.images().detach()
    assert pseudo_inputs.shape == (5, 1, 28, 28) and pseudo_inputs.min() >= 0 and pseudo_inputs.max() <= 1
    mu, logvar = open_graph(tmp_path / "model" / "encoder.onnx").run(None, {"image": pseudo_inputs.numpy()})
    section = manifest["prior"]
    assert section["weights"] == [0.2] * 5
    np.testing.assert_array_equal(np.array(section["means"], np.float32), mu)
    np.testing.assert_array_equal(np.array(section["logvars"], np.float32), logvar)
    assert section["description"] == "VampPrior: 5 learned pseudo-inputs, encoded at export"


def test_the_graphs_and_pytorch_measure_alike(trained):
    """Same estimator, different noise: the graphs' figure and the last epoch's PyTorch figure are close."""
    fp32, last = trained["manifest"]["metrics"]["fp32"], trained["history"][-1]
    assert fp32["neg_elbo"] == pytest.approx(last["test_neg_elbo"], abs=1.5)
    assert fp32["kl"] == pytest.approx(last["test_kl"], abs=1.0)


@pytest.fixture(scope="module")
def standard_model(tmp_path_factory, data_root):
    """A short run of the MLP with the standard normal prior, exported: a model folder without a prior
    section, and the architecture kept so that the comparison with the conv model can be rerun."""
    folder = tmp_path_factory.mktemp("standard")
    config = TrainConfig(**{**SMALL, "prior": "standard", "architecture": "mlp"})
    result = train(config, folder / "run", data_root=data_root, download=False)
    export(result["checkpoint"], folder / "model", data_root=data_root, download=False, test_limit=SMALL["test_limit"])
    return folder / "model"


def test_a_model_folder_without_a_prior_section_loads_and_samples_from_the_standard_normal(standard_model):
    from vaeport.runtime import VAERuntime

    manifest = json.loads((standard_model / MANIFEST_FILE).read_text())
    assert "prior" not in manifest
    vae = VAERuntime.load(standard_model, device="cpu")
    assert vae.prior.is_standard_normal and vae.prior.description == "standard normal N(0, I)"
    np.testing.assert_array_equal(
        vae.sample_latents(8, seed=3),
        np.random.default_rng(3).standard_normal((8, SMALL["latent_dim"]), dtype=np.float32),
    )
    assert vae.sample(8, seed=3).shape == (8, 28, 28)
    result = vaeport_cli("evaluate", standard_model, "--no-download", "--test-limit", SMALL["test_limit"])
    assert result.returncode == 0, result.stderr
    assert "prior: standard normal N(0, I) (analytic KL)" in result.stdout


def test_evaluate_needs_neither_torch_nor_torchvision(trained):
    """`vaeport evaluate` reads MNIST and computes the measure with numpy and onnxruntime alone."""
    script = BLOCK_TORCH.format(
        argv=["evaluate", str(trained["model_dir"]), "--no-download", "--test-limit", str(SMALL["test_limit"])]
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "prior: " + trained["manifest"]["prior"]["description"] in result.stdout
    assert "log q(z|x) - log p(z)" in result.stdout


def test_int8_graphs_cost_little_quality(trained):
    metrics = trained["manifest"]["metrics"]
    assert metrics["int8"]["neg_elbo"] == pytest.approx(metrics["fp32"]["neg_elbo"], abs=2.0)
    model_dir = trained["model_dir"]
    assert (model_dir / "decoder.int8.onnx").stat().st_size < 0.5 * (model_dir / "decoder.onnx").stat().st_size


def test_reexport_keeps_other_files_and_replaces_the_model(tmp_path, trained, data_root):
    target = tmp_path / "model"
    shutil.copytree(trained["model_dir"], target)
    (target / "__init__.py").write_text("# package marker\n")
    (target / "encoder.onnx").write_bytes(b"stale")
    export(trained["checkpoint"], target, data_root=data_root, download=False, test_limit=SMALL["test_limit"])
    assert (target / "__init__.py").read_text() == "# package marker\n"
    assert (
        sha256_file(target / "encoder.onnx")
        == json.loads((target / MANIFEST_FILE).read_text())["graphs"]["fp32"]["encoder"]["sha256"]
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no staging or retired folders left behind


def test_failed_export_leaves_the_previous_model_in_place(tmp_path, trained, data_root, monkeypatch):
    target = tmp_path / "model"
    shutil.copytree(trained["model_dir"], target)
    before = {p.name: p.read_bytes() for p in target.iterdir()}

    def parity_fails(module, path, input_name, make_input):
        raise ExportError(f"{path.name} output differs from PyTorch at batch 7")

    monkeypatch.setattr(export_module, "_check_parity", parity_fails)
    with pytest.raises(ExportError, match="differs from PyTorch"):
        export(trained["checkpoint"], target, data_root=data_root, download=False, test_limit=SMALL["test_limit"])
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


# --- the shipped model -------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped_manifest():
    return json.loads((SHIPPED_MODEL / MANIFEST_FILE).read_text())


def test_shipped_model_matches_its_manifest(shipped_manifest):
    for precision, files in GRAPH_FILES.items():
        for part, name in files.items():
            assert sha256_file(SHIPPED_MODEL / name) == shipped_manifest["graphs"][precision][part]["sha256"], name
    assert shipped_manifest["latent_dim"] == 10
    assert shipped_manifest["evaluation"]["test_images"] == 10_000


def test_shipped_model_comes_from_the_readmes_training_command(shipped_manifest):
    """The README's `vaeport train` line is the recipe the shipped model records."""
    (line,) = [
        line for line in (REPO / "README.md").read_text().splitlines() if line.startswith("vaeport train --data-root")
    ]
    args = build_parser().parse_args(shlex.split(line)[1:])
    assert TrainConfig.from_dict(shipped_manifest["training"]) == train_config(args)


@pytest.mark.slow
def test_shipped_model_reproduces_its_recorded_test_metric(shipped_manifest, data_root):
    """The evaluation is deterministic: a regression of 0.1 nats would show."""
    images, _ = load_test_digits(data_root, download=False)
    prior = Prior.from_manifest(shipped_manifest)
    for precision in ("fp32", "int8"):
        files = GRAPH_FILES[precision]
        measured = evaluate_graphs(SHIPPED_MODEL / files["encoder"], SHIPPED_MODEL / files["decoder"], images, prior)[
            "metrics"
        ]
        for key in ("neg_elbo", "recon_bce", "kl"):
            assert measured[key] == pytest.approx(shipped_manifest["metrics"][precision][key], abs=0.01), (
                precision,
                key,
            )


def test_shipped_model_has_a_learned_prior(shipped_manifest):
    prior = Prior.from_manifest(shipped_manifest)
    training = TrainConfig.from_dict(shipped_manifest["training"])
    assert not prior.is_standard_normal and prior.components == training.prior_components
    assert shipped_manifest["prior"]["description"] in (REPO / "README.md").read_text()


@pytest.mark.parametrize("which", ["shipped conv model", "MLP"])
def test_torch_modules_rebuilt_from_the_graphs_match_them(which, request):
    model_dir = SHIPPED_MODEL if which == "shipped conv model" else request.getfixturevalue("standard_model")
    encoder, decoder = load_torch_modules(model_dir)
    latent = json.loads((model_dir / MANIFEST_FILE).read_text())["latent_dim"]
    images = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(4))
    z = torch.randn(3, latent, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        mu, _ = encoder(images)
        probs = decoder(z)
    got_mu, _ = open_graph(model_dir / "encoder.onnx").run(None, {"image": images.numpy()})
    (got_probs,) = open_graph(model_dir / "decoder.onnx").run(None, {"z": z.numpy()})
    np.testing.assert_allclose(mu.numpy(), got_mu, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(probs.numpy(), got_probs, rtol=1e-5, atol=1e-5)


def test_built_wheel_carries_every_layer_and_the_shipped_model(tmp_path):
    source = tmp_path / "source"  # a copy, so the build leaves nothing behind in the checkout
    shutil.copytree(
        REPO,
        source,
        ignore=shutil.ignore_patterns(".git", ".venv", "build", "runs", "*.egg-info", "test-artifacts", "node_modules"),
    )
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = tmp_path.glob("vaeport-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in (
        "vaeport/cli.py",
        "vaeport/training/export.py",
        "vaeport/runtime/__init__.py",
        "vaeport/ui/__init__.py",
        "vaeport/benchmarks/__init__.py",
    ):
        assert module in names
    for name in (*GRAPH_FILES["fp32"].values(), *GRAPH_FILES["int8"].values(), MANIFEST_FILE):
        assert f"vaeport/exported/{name}" in names
    for name in ("demo.mjs", "runtime.mjs", "demo.css", "ort-web.json"):  # the page, run in the visitor's browser
        assert f"vaeport/ui/static/{name}" in names
    assert "vaeport/benchmarks/browser/probe.mjs" in names  # the browser benchmark adds it to the pages it opens
    assert not [name for name in names if "/tests/" in name or name.endswith((".wasm", "package.json"))]


def test_evaluate_refuses_a_graph_that_does_not_match_its_manifest(tmp_path, trained):
    target = tmp_path / "model"
    shutil.copytree(trained["model_dir"], target)
    (target / "decoder.int8.onnx").write_bytes(b"not the graph the manifest describes")
    result = vaeport_cli("evaluate", target, "--no-download", "--test-limit", SMALL["test_limit"])
    assert result.returncode == 1
    assert (
        f"decoder.int8.onnx in {target} has SHA-256" in result.stderr and "but manifest.json records" in result.stderr
    )
    assert "Traceback" not in result.stderr


# --- deriving a model folder again from its fp32 graphs --------------------------------------------------------------


@pytest.fixture
def model_copy(tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(SHIPPED_MODEL, folder, ignore=shutil.ignore_patterns("__init__.py", "__pycache__"))
    return folder


@pytest.mark.slow
def test_deriving_a_model_folder_again_rewrites_what_derives_from_its_fp32_graphs_and_keeps_them(model_copy, data_root):
    (model_copy / "CNAME").write_text("kept")
    shipped = json.loads((SHIPPED_MODEL / MANIFEST_FILE).read_text())
    manifest = derive(model_copy, data_root=data_root, download=False)
    assert manifest == json.loads((model_copy / MANIFEST_FILE).read_text())
    assert (model_copy / "CNAME").read_text() == "kept"
    for name in GRAPH_FILES["fp32"].values():
        fp32, before = graph_weights(model_copy / name), graph_weights(SHIPPED_MODEL / name)
        assert fp32.keys() == before.keys() and all(np.array_equal(fp32[k], before[k]) for k in fp32)
    stamped = {p.key: json.loads(p.value) for p in onnx.load(str(model_copy / "decoder.onnx")).metadata_props}
    assert stamped["quantization"] == manifest["quantization"] and stamped["metrics"] == manifest["metrics"]
    assert manifest["metrics"]["fp32"] == shipped["metrics"]["fp32"]
    assert manifest["metrics"]["int8"]["neg_elbo"] == pytest.approx(shipped["metrics"]["int8"]["neg_elbo"], abs=0.02)
    np.testing.assert_allclose(manifest["map"]["axes"], shipped["map"]["axes"], atol=1e-4)
    assert manifest["map"]["points"]["per_digit"] == shipped["map"]["points"]["per_digit"]
    VAERuntime.load(model_copy, device="cpu", precision="int8")  # every hash matches the new manifest


def test_deriving_refuses_a_folder_whose_fp32_graph_fails_its_hash(model_copy, data_root):
    (model_copy / "encoder.onnx").write_bytes(b"not the graph the manifest describes")
    before = {p.name: p.read_bytes() for p in model_copy.iterdir()}
    with pytest.raises(ModelIntegrityError, match="encoder.onnx"):
        derive(model_copy, data_root=data_root, download=False)
    assert {p.name: p.read_bytes() for p in model_copy.iterdir()} == before


def test_deriving_a_folder_that_records_no_test_digit_count_says_what_it_needs(model_copy, data_root):
    manifest = json.loads((model_copy / MANIFEST_FILE).read_text())
    for record in ("evaluation", "dataset"):
        del manifest[record]
    (model_copy / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ExportError, match=r"records no evaluation.test_images .*; expected the number of test digits"):
        derive(model_copy, data_root=data_root, download=False)


def test_a_failed_derive_leaves_the_folder_as_it_was(model_copy, data_root, monkeypatch):
    before = {p.name: p.read_bytes() for p in model_copy.iterdir()}

    def fail(mu, labels):
        raise FloatingPointError("a map that cannot be made")

    monkeypatch.setattr(export_module, "map_section", fail)
    with pytest.raises(ExportError, match="deriving failed and .* was left as it was: FloatingPointError"):
        derive(model_copy, data_root=data_root, download=False)
    assert {p.name: p.read_bytes() for p in model_copy.iterdir()} == before
    assert sorted(p.name for p in model_copy.parent.iterdir()) == ["model"]
