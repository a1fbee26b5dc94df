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
import onnxruntime as ort
import pytest
import torch

from conftest import REPO, SHIPPED_MODEL
from vaeport.cli import build_parser, train_config
from vaeport.contract import GRAPH_FILES, MANIFEST_FILE, sha256_file
from vaeport.training import export as export_module
from vaeport.training.checkpoint import load_checkpoint
from vaeport.training.config import TrainConfig
from vaeport.training.data import load_mnist
from vaeport.training.errors import CheckpointError, ConfigError, DataError, ExportError
from vaeport.training.evaluate import evaluate_graphs
from vaeport.training.export import export
from vaeport.training.loss import negative_elbo, summarize
from vaeport.training.model import VAE, Decoder, DecoderProbabilities, reparameterize
from vaeport.training.onnx_weights import load_torch_modules
from vaeport.training.train import _kl_weight, train

SMALL = dict(latent_dim=4, hidden=(64, 32), epochs=1, batch_size=32, lr=3e-3, ema_decay=0.9, kl_warmup_epochs=0, train_limit=2048, test_limit=500)


def vaeport_cli(*args):
    return subprocess.run([sys.executable, "-m", "vaeport", *map(str, args)], capture_output=True, text=True, timeout=600)


# --- model and loss on small arrays -------------------------------------------------------


def test_shapes_follow_the_configuration():
    model = VAE(latent_dim=3, hidden=(20, 10))
    logits, mu, logvar = model(torch.rand(5, 1, 28, 28))
    assert logits.shape == (5, 1, 28, 28)
    assert mu.shape == logvar.shape == (5, 3)
    assert model.decoder(torch.zeros(2, 3)).shape == (2, 1, 28, 28)


def test_negative_elbo_matches_a_hand_computation():
    logits = torch.tensor([[0.5, -1.0, 2.0, 0.0]]).repeat(1, 196).view(1, 1, 28, 28)
    target = torch.tensor([[1.0, 0.0, 0.25, 0.5]]).repeat(1, 196).view(1, 1, 28, 28)
    mu, logvar = torch.tensor([[0.5, -1.0]]), torch.tensor([[0.0, math.log(4.0)]])

    def bce(logit, x):
        p = 1 / (1 + math.exp(-logit))
        return -(x * math.log(p) + (1 - x) * math.log(1 - p))

    expected_bce = 196 * sum(bce(l, x) for l, x in [(0.5, 1.0), (-1.0, 0.0), (2.0, 0.25), (0.0, 0.5)])
    # KL(N(mu, s^2) || N(0, 1)) = 0.5 * (s^2 + mu^2 - 1 - log s^2), summed over dimensions
    expected_kl = 0.5 * (1 + 0.25 - 1 - 0) + 0.5 * (4 + 1 - 1 - math.log(4.0))
    total, got_bce, got_kl = negative_elbo(logits, target, mu, logvar)
    assert got_bce.item() == pytest.approx(expected_bce, rel=1e-5)
    assert got_kl.item() == pytest.approx(expected_kl, rel=1e-5)
    assert total.item() == pytest.approx(expected_bce + expected_kl, rel=1e-5)


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
    metrics = summarize(torch.ones(100), torch.zeros(100), mu)
    assert metrics["active_units"] == 1  # only the first varies by more than 0.01 (variance 0.34 vs 0 and 0.0009)
    assert metrics["neg_elbo"] == pytest.approx(1.0)


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value, message",
    [("latent_dim", 0, "latent_dim"), ("epochs", -3, "epochs"), ("hidden", (), "hidden"),
     ("lr", 0.0, "lr"), ("activation", "tanhh", "activation"), ("ema_decay", 1.0, "ema_decay"),
     ("dropout", 1.0, "dropout"), ("kl_warmup_epochs", -1, "kl_warmup_epochs"), ("weight_decay", -0.1, "weight_decay")],
)
def test_nonsense_hyperparameters_are_refused(field, value, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**{field: value})


def test_cli_refuses_bad_arguments_with_a_message():
    result = vaeport_cli("train", "--latent-dim", "0")
    assert result.returncode != 0
    assert "expected a positive whole number, got 0" in result.stderr
    result = vaeport_cli("train", "--hidden", "512,-1")
    assert result.returncode != 0 and "expected a positive whole number, got -1" in result.stderr


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
    manifest = export(result["checkpoint"], folder / "model", data_root=data_root, download=False, test_limit=SMALL["test_limit"])
    return {**result, "model_dir": folder / "model", "manifest": manifest, "run_dir": folder / "run"}


def test_training_writes_checkpoint_figures_and_per_epoch_metrics(trained):
    for name in ("checkpoint.pt", "loss_curve.png", "reconstructions.png", "samples.png"):
        assert (trained["run_dir"] / name).stat().st_size > 0
    (row,) = trained["history"]
    assert set(row) >= {"epoch", "train_neg_elbo", "test_neg_elbo", "test_recon_bce", "test_kl", "test_active_units"}
    assert row["test_neg_elbo"] == pytest.approx(row["test_recon_bce"] + row["test_kl"])
    assert row["test_neg_elbo"] < 300  # an untrained model scores about 543 (784 pixels x ln 2)


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
    encoder = ort.InferenceSession(str(trained["model_dir"] / "encoder.onnx"))
    decoder = ort.InferenceSession(str(trained["model_dir"] / "decoder.onnx"))
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
    (probs,) = ort.InferenceSession(str(path)).run(None, {"z": np.zeros((1, 2), np.float32)})
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
            assert props == {k: v for k, v in manifest.items() if k != "graphs"}
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
    assert sha256_file(target / "encoder.onnx") == json.loads((target / MANIFEST_FILE).read_text())["graphs"]["fp32"]["encoder"]["sha256"]
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
    (line,) = [line for line in (REPO / "README.md").read_text().splitlines() if line.startswith("vaeport train --data-root")]
    args = build_parser().parse_args(shlex.split(line)[1:])
    assert TrainConfig.from_dict(shipped_manifest["training"]) == train_config(args)


@pytest.mark.slow
def test_shipped_model_reproduces_its_recorded_test_metric(shipped_manifest, data_root):
    images, _ = load_mnist(data_root, train=False, download=False)
    for precision in ("fp32", "int8"):
        files = GRAPH_FILES[precision]
        measured = evaluate_graphs(SHIPPED_MODEL / files["encoder"], SHIPPED_MODEL / files["decoder"], images.numpy())
        assert measured["metrics"]["neg_elbo"] == pytest.approx(shipped_manifest["metrics"][precision]["neg_elbo"], abs=0.5)


def test_torch_modules_rebuilt_from_the_shipped_graphs_match_them():
    encoder, decoder = load_torch_modules(SHIPPED_MODEL)
    images = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(4))
    z = torch.randn(3, 10, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        mu, _ = encoder(images)
        probs = decoder(z)
    got_mu, _ = ort.InferenceSession(str(SHIPPED_MODEL / "encoder.onnx")).run(None, {"image": images.numpy()})
    (got_probs,) = ort.InferenceSession(str(SHIPPED_MODEL / "decoder.onnx")).run(None, {"z": z.numpy()})
    np.testing.assert_allclose(mu.numpy(), got_mu, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(probs.numpy(), got_probs, rtol=1e-5, atol=1e-5)


def test_built_wheel_carries_every_layer_and_the_shipped_model(tmp_path):
    source = tmp_path / "source"  # a copy, so the build leaves nothing behind in the checkout
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".git", ".venv", "build", "runs", "*.egg-info", "test-artifacts"))
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(source)],
                   check=True, capture_output=True, timeout=600)
    (wheel,) = tmp_path.glob("vaeport-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in ("vaeport/cli.py", "vaeport/training/export.py", "vaeport/runtime/__init__.py",
                   "vaeport/ui/__init__.py", "vaeport/benchmarks/__init__.py"):
        assert module in names
    for name in (*GRAPH_FILES["fp32"].values(), *GRAPH_FILES["int8"].values(), MANIFEST_FILE):
        assert f"vaeport/exported/{name}" in names


def test_evaluate_refuses_a_graph_that_does_not_match_its_manifest(tmp_path, trained):
    target = tmp_path / "model"
    shutil.copytree(trained["model_dir"], target)
    (target / "decoder.int8.onnx").write_bytes(b"not the graph the manifest describes")
    result = vaeport_cli("evaluate", target, "--no-download", "--test-limit", SMALL["test_limit"])
    assert result.returncode == 1
    assert "decoder.int8.onnx does not match the SHA-256 its manifest records" in result.stderr
    assert "Traceback" not in result.stderr
