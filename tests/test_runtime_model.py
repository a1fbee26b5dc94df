"""Loading a model folder: integrity and consistency checks, execution providers, CUDA parity.

Damaged and inconsistent models are made by copying the shipped folder and changing one thing.
"""

import json
import shutil
import subprocess
import sys
from importlib.resources import as_file, files

import numpy as np
import onnxruntime as ort
import pytest

from vaeport.contract import GRAPH_FILES, MANIFEST_FILE, sha256_file
from vaeport.runtime import (
    ManifestMismatchError,
    ModelError,
    ModelIntegrityError,
    ProviderError,
    VAERuntime,
)
from vaeport.runtime.providers import conflict_note, installed_onnxruntime

CUDA_LISTED = "CUDAExecutionProvider" in ort.get_available_providers()


@pytest.fixture
def model_dir(tmp_path):
    """A writable copy of the shipped model folder."""
    with as_file(files("vaeport.exported")) as shipped:
        for name in [MANIFEST_FILE, *(f for graphs in GRAPH_FILES.values() for f in graphs.values())]:
            shutil.copy(shipped / name, tmp_path / name)
    return tmp_path


def edit_manifest(model_dir, change):
    path = model_dir / MANIFEST_FILE
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def rehash(model_dir, precision, role):
    """Record a graph's current SHA-256 in the manifest, as an export would."""
    file_name = GRAPH_FILES[precision][role]
    edit_manifest(model_dir, lambda m: m["graphs"][precision][role].update(sha256=sha256_file(model_dir / file_name)))


def test_a_copied_model_folder_loads(model_dir):
    vae = VAERuntime.load(model_dir, device="cpu")
    assert vae.info()["model_dir"] == str(model_dir)


@pytest.mark.parametrize("precision, role", [("fp32", "encoder"), ("fp32", "decoder"), ("int8", "decoder")])
def test_a_changed_graph_is_refused_before_onnxruntime_sees_it(model_dir, precision, role):
    file_name = GRAPH_FILES[precision][role]
    (model_dir / file_name).write_bytes(b"not an onnx graph")  # onnxruntime would fail to parse this
    with pytest.raises(
        ModelIntegrityError, match=rf"{file_name} in .* has SHA-256 .* but manifest.json records"
    ) as caught:
        VAERuntime.load(model_dir, device="cpu", precision=precision)
    assert isinstance(caught.value, RuntimeError)


def test_a_single_flipped_byte_is_caught(model_dir):
    path = model_dir / GRAPH_FILES["fp32"]["encoder"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="encoder.onnx"):
        VAERuntime.load(model_dir, device="cpu")


def test_an_unloadable_graph_with_a_matching_hash_is_a_model_error_not_an_onnxruntime_one(model_dir):
    (model_dir / "decoder.onnx").write_bytes(b"not an onnx graph")
    rehash(model_dir, "fp32", "decoder")
    with pytest.raises(ModelError, match="onnxruntime could not load decoder.onnx"):
        VAERuntime.load(model_dir, device="cpu")


def test_a_manifest_whose_latent_size_differs_from_the_graphs_is_refused(model_dir):
    latent_dim = VAERuntime.load(model_dir, device="cpu").latent_dim
    wrong = latent_dim + 1

    def change(manifest):  # a manifest consistent in itself, for a latent size the graphs do not have
        manifest["latent_dim"] = wrong
        for role in manifest["io"].values():
            for args in role.values():
                for shape in args.values():
                    shape[1:] = [wrong] if len(shape) == 2 else shape[1:]
        for values in [
            *manifest["latent_stats"].values(),
            *(e[k] for e in manifest["examples"] for k in ("mu", "logvar")),
        ]:
            values.append(0.0)
        for row in [*manifest.get("prior", {}).get("means", []), *manifest.get("prior", {}).get("logvars", [])]:
            row.append(0.0)
        manifest.pop("map", None)  # a map is optional; a consistent one would need its points for the new size

    edit_manifest(model_dir, change)
    message = (
        rf"encoder.onnx output 'mu' is tensor\(float\) \[.*, {latent_dim}\]; expected tensor\(float\) \['N', {wrong}\]"
    )
    with pytest.raises(ManifestMismatchError, match=message):
        VAERuntime.load(model_dir, device="cpu")


def test_a_graph_with_other_output_names_is_refused(model_dir):
    onnx = pytest.importorskip("onnx")
    path = model_dir / "encoder.onnx"
    graph = onnx.load(path)
    for node in graph.graph.node:
        node.output[:] = ["mean" if name == "mu" else name for name in node.output]
    for output in graph.graph.output:
        output.name = "mean" if output.name == "mu" else output.name
    onnx.save(graph, path)
    rehash(model_dir, "fp32", "encoder")
    with pytest.raises(
        ManifestMismatchError, match=r"encoder.onnx has outputs \['mean', 'logvar'\]; .* expect \['mu', 'logvar'\]"
    ):
        VAERuntime.load(model_dir, device="cpu")


@pytest.mark.parametrize(
    "break_it, message",
    [
        (lambda d: (d / MANIFEST_FILE).unlink(), "manifest.json is missing"),
        (lambda d: (d / MANIFEST_FILE).write_text("{not json"), "not readable JSON"),
        (lambda d: (d / MANIFEST_FILE).write_text("[]"), "not a JSON object"),
        (lambda d: (d / "decoder.onnx").unlink(), "decoder.onnx is missing"),
        (
            lambda d: edit_manifest(d, lambda m: m.update(format_version=99)),
            "format_version 99; this vaeport reads format_version 1",
        ),
    ],
)
def test_a_broken_model_folder_gets_a_message_naming_the_problem(model_dir, break_it, message):
    break_it(model_dir)
    with pytest.raises(ModelError, match=message):
        VAERuntime.load(model_dir, device="cpu")


def test_a_missing_precision_lists_the_ones_there(model_dir):
    edit_manifest(model_dir, lambda m: m["graphs"].pop("int8"))
    with pytest.raises(ModelError, match=r"records no graphs.int8.encoder; it lists precisions \['fp32'\]"):
        VAERuntime.load(model_dir, device="cpu", precision="int8")


@pytest.mark.parametrize("command", [["info"], ["demo", "--port", "7999"], ["evaluate"], ["web", "site"]])
def test_commands_on_a_broken_manifest_print_one_line_and_exit_1(model_dir, command, tmp_path):
    edit_manifest(model_dir, lambda m: m.pop("examples"))
    where = [str(model_dir)] if command[0] == "evaluate" else ["--model-dir", str(model_dir)]
    if command[0] == "web":
        command = ["web", str(tmp_path / "site")]
    result = subprocess.run(
        [sys.executable, "-m", "vaeport", *command, *where], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"vaeport {command[0]}: error: manifest.json in {model_dir} has examples null; expected a list of 10, one per digit 0-9"
    ]


# --- providers ----------------------------------------------------------------------------


def test_installed_onnxruntime_is_read_from_package_metadata():
    assert ort.__version__ in installed_onnxruntime().values()


@pytest.mark.skipif(CUDA_LISTED, reason="this onnxruntime offers CUDA")
def test_auto_without_cuda_runs_on_the_cpu_and_says_why():
    vae = VAERuntime.load(device="auto")
    assert vae.device == "cpu" and vae.providers == ["CPUExecutionProvider"]
    assert "offers no CUDAExecutionProvider" in vae.info()["fallback_reason"]


@pytest.mark.skipif(CUDA_LISTED, reason="this onnxruntime offers CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_explicit_cuda_without_cuda_names_what_is_installed_and_missing(device):
    with pytest.raises(ProviderError) as caught:
        VAERuntime.load(device=device)
    message = str(caught.value)
    assert "offers no CUDAExecutionProvider" in message and "onnxruntime-gpu" in message
    for name, version in installed_onnxruntime().items():
        assert f"{name} {version}" in message
    assert isinstance(caught.value, RuntimeError)


def test_cpu_and_gpu_distributions_installed_together_are_reported(tmp_path, monkeypatch):
    """A second distribution's metadata on sys.path is what pip leaves after installing onnxruntime-gpu too."""
    dist_info = tmp_path / "onnxruntime_gpu-1.99.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: onnxruntime-gpu\nVersion: 1.99.0\n")
    assert conflict_note() is None or "onnxruntime-gpu 1.99.0" not in conflict_note()
    monkeypatch.syspath_prepend(str(tmp_path))
    assert installed_onnxruntime()["onnxruntime-gpu"] == "1.99.0"
    note = conflict_note()
    assert "onnxruntime-gpu 1.99.0" in note and f"onnxruntime {installed_onnxruntime()['onnxruntime']}" in note
    assert VAERuntime.load(device="cpu").info()["onnxruntime"]["conflict"] == note


@pytest.mark.skipif(CUDA_LISTED, reason="this onnxruntime offers CUDA")
@pytest.mark.filterwarnings("ignore:Specified provider 'CUDAExecutionProvider' is not in available provider names")
def test_cuda_listed_but_dropped_by_the_session_is_caught(monkeypatch):
    """onnxruntime lists CUDA, yet the session it creates runs on the CPU (as when cuDNN does not load)."""
    listed = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    monkeypatch.setattr("vaeport.runtime.providers.ort.get_available_providers", lambda: listed)
    with pytest.raises(
        ProviderError, match=r"lists CUDAExecutionProvider but could not use it on cuda:0 and fell back"
    ):
        VAERuntime.load(device="cuda")
    vae = VAERuntime.load(device="auto")
    assert vae.device == "cpu" and vae.providers == ["CPUExecutionProvider"]
    assert "could not use it on cuda:0" in vae.info()["fallback_reason"]


# --- CUDA (needs a GPU and onnxruntime-gpu; run with pytest -m cuda) ---------------------


@pytest.fixture(scope="module")
def cuda_vae():
    return VAERuntime.load(device="cuda")


@pytest.mark.cuda
def test_cuda_session_really_runs_on_cuda(cuda_vae):
    assert cuda_vae.providers[0] == "CUDAExecutionProvider" and cuda_vae.device == "cuda:0"
    assert VAERuntime.load(device="auto").device == "cuda:0"


@pytest.mark.cuda
def test_cuda_results_equal_cpu_results(cuda_vae):
    cpu = VAERuntime.load(device="cpu")
    rng = np.random.default_rng(0)
    for batch in (1, 7, 1024):
        images = rng.random((batch, 28, 28), dtype=np.float32)
        z = rng.standard_normal((batch, cpu.latent_dim), dtype=np.float32)
        for got, want in zip(cuda_vae.encode(images), cpu.encode(images)):
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)
        np.testing.assert_allclose(cuda_vae.decode(z), cpu.decode(z), rtol=0, atol=1e-4)


@pytest.mark.cuda
def test_a_cuda_device_that_does_not_exist_is_a_provider_error(cuda_vae):
    with pytest.raises(ProviderError, match="cuda:99"):
        VAERuntime.load(device="cuda:99")


# --- the prior the runtime samples from -------------------------------------------------------


def test_a_model_folder_without_a_prior_samples_from_the_standard_normal(model_dir):
    edit_manifest(model_dir, lambda m: m.pop("prior", None))
    vae = VAERuntime.load(model_dir, device="cpu")
    z = vae.sample_latents(20000, seed=3)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=0.03)
    np.testing.assert_allclose(z.var(axis=0), 1.0, atol=0.04)
    np.testing.assert_array_equal(
        z, np.random.default_rng(3).standard_normal((20000, vae.latent_dim), dtype=np.float32)
    )


def test_the_runtime_samples_from_the_manifests_mixture(model_dir):
    """Two components far apart on z0: the samples split by weight, each with its own mean."""
    latent_dim = VAERuntime.load(model_dir, device="cpu").latent_dim
    means = [[-4.0] + [0.0] * (latent_dim - 1), [4.0] + [1.0] * (latent_dim - 1)]
    prior = {
        "type": "gaussian_mixture",
        "weights": [0.25, 0.75],
        "means": means,
        "logvars": [[np.log(0.04)] * latent_dim] * 2,
        "description": "two components for a test",
    }
    edit_manifest(model_dir, lambda m: m.update(prior=prior))
    vae = VAERuntime.load(model_dir, device="cpu")
    z = vae.sample_latents(20000, seed=4)
    left = z[:, 0] < 0
    assert left.mean() == pytest.approx(0.25, abs=0.015)
    np.testing.assert_allclose(z[left].mean(axis=0), means[0], atol=0.01)
    np.testing.assert_allclose(z[~left].std(axis=0), 0.2, rtol=0.05)
    assert vae.sample(3, seed=4).shape == (3, 28, 28)
