"""``vaeport bench`` on the shipped graphs with the real onnxruntime (and PyTorch where installed):
it runs, its output is well formed, every engine computes the same thing, and its measuring
machinery does what it says. Speed itself is never asserted."""

import importlib.util
import json
import math
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from matplotlib.image import imread
from onnx import numpy_helper

from vaeport.benchmarks.ceiling import SIZE, _graph, _input
from vaeport.benchmarks.engines import (
    BASELINE, CPU, ENGINES, GPU_ENGINES, OrtEngine, OrtIoBindingEngine, create, precision_of,
)
from vaeport.benchmarks.measure import PRIMING_BELOW_NS, Cell, measure_setup, run_rounds
from vaeport.benchmarks.workload import PARTS, flops_per_image, make_input, open_model
from vaeport.cli import main
from vaeport.training import OPENMP_SPIN_COUNT

SHIPPED = open_model(None)
MODEL_DIR = SHIPPED.location
HAS_TORCH = importlib.util.find_spec("torch") is not None
HAS_CUDA = "CUDAExecutionProvider" in ort.get_available_providers()
CPU_ENGINES = [name for name in ENGINES if name not in GPU_ENGINES and (HAS_TORCH or name != BASELINE)]
ROW_KEYS = {"engine", "part", "batch", "threads", "p50_us", "p90_us", "p99_us", "images_per_s", "gflop_per_s",
            "peak_fraction", "ceiling_fraction", "speedup_vs_torch", "create_ms", "first_call_ms", "peak_mem_mib", "samples"}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """One ``vaeport bench --quick``, shared by the tests that read what it wrote."""
    out = tmp_path_factory.mktemp("bench")
    assert main(["bench", "--quick", "--out", str(out)]) == 0
    return out, json.loads((out / "results.json").read_text())


def test_quick_run_measures_every_engine_part_and_batch(quick_run):
    _, results = quick_run
    rows = results["rows"]
    cells = {(r["engine"], r["part"], r["batch"]) for r in rows}
    expected = {(engine, part, batch) for engine in CPU_ENGINES for part in PARTS for batch in (1, 64)}
    assert expected <= cells
    assert len(rows) == len(cells), "one row per cell"
    for row in rows:
        assert ROW_KEYS <= row.keys()
        assert 0 < row["p50_us"] <= row["p90_us"] <= row["p99_us"]
        assert row["samples"] >= 2 and row["first_call_ms"] > 0 and row["create_ms"] > 0
        assert row["images_per_s"] == pytest.approx(row["batch"] / row["p50_us"] * 1e6)
        flops = results["flops_per_image"][row["part"]]
        assert row["gflop_per_s"] == pytest.approx(flops * row["images_per_s"] * 1e-9)
        assert row["peak_fraction"] is None or row["peak_fraction"] > 0
        assert row["ceiling_fraction"] == pytest.approx(
            row["gflop_per_s"] / results["ceilings"][str(row["threads"])][precision_of(row["engine"])])
    if HAS_TORCH:
        torch_rows = [r for r in rows if r["engine"] == BASELINE]
        assert all(r["speedup_vs_torch"] == pytest.approx(1.0) for r in torch_rows)
        assert all(r["speedup_vs_torch"] > 0 for r in rows)
    else:
        assert BASELINE in results["skipped"] and all(r["speedup_vs_torch"] is None for r in rows)


def test_engines_that_cannot_run_here_are_skipped_with_a_reason(quick_run):
    _, results = quick_run
    measured = {r["engine"] for r in results["rows"]}
    for name in GPU_ENGINES:
        if HAS_CUDA:
            assert name in measured
        else:
            assert name not in measured and "CUDAExecutionProvider" in results["skipped"][name]


def test_results_describe_the_machine_and_the_bars(quick_run):
    _, results = quick_run
    cpu = results["machine"]["cpu"]
    assert cpu["model"] and cpu["usable_cpus"] >= 1 and isinstance(cpu["flags"], list)
    assert results["machine"]["versions"]["onnxruntime"] == ort.__version__
    if cpu["peak_gflops"] is not None:
        factors = cpu["peak_cores"] * cpu["clock_mhz"] / 1000 * cpu["fma_units_per_core"] * cpu["fp32_lanes"]
        assert cpu["peak_gflops"] == pytest.approx(factors * cpu["flops_per_lane_per_cycle"])
    assert results["machine"]["thread_environment"]["GOMP_SPINCOUNT"] == OPENMP_SPIN_COUNT or not HAS_TORCH
    bars = {(b["engine"], b["batch"]): b for b in results["bars"]}
    assert bars["ort-cpu-int8", 1024]["met"] is None, "batch 1024 is not part of the quick run"
    assert (bars["vaeport-fp32", 1]["speedup"] is not None) == HAS_TORCH
    assert (bars["vaeport-fp32", 1]["ceiling_speedup"] is not None) == HAS_TORCH
    for values in results["ceilings"].values():
        assert values["fp32"] > 0 and values["int8"] > 0
    assert "onnxruntime GEMM ceilings" in (quick_run[0] / "results.md").read_text()


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_the_gemm_ceiling_graphs_compute_the_full_product(precision):
    """The ceiling times real work: the one-node graph's output is the matrix product numpy computes."""
    model = _graph(precision)
    a = _input(precision)
    (y,) = ort.InferenceSession(model, providers=[CPU]).run(None, {"a": a})
    weights = next(numpy_helper.to_array(t) for t in onnx.load_from_string(model).graph.initializer if t.name == "b")
    assert y.shape == (SIZE, SIZE)
    if precision == "int8":
        np.testing.assert_array_equal(y, (a.astype(np.int32) - 128) @ weights.astype(np.int32))
    else:
        np.testing.assert_allclose(y, a @ weights, rtol=1e-3, atol=1e-2)


def test_quick_run_writes_a_markdown_table_and_log_scale_plots(quick_run, capsys):
    out, results = quick_run
    report = (out / "results.md").read_text()
    for part in PARTS:
        assert f"## {part}" in report
    for name in {r["engine"] for r in results["rows"]}:
        assert f"| {name} | 1 |" in report
    assert "| engine | batch | threads | p50 µs |" in report
    for plot in ("latency.png", "throughput.png", "speedup.png"):
        image = imread(out / plot)
        assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 400
        assert image.std() > 0.05, f"{plot} is blank"


def test_narrowed_run_measures_just_the_cells_asked_for(tmp_path):
    args = ["bench", "--engine", "ort-cpu-int8,ort-cpu-fp32", "--part", "decoder", "--batch", "1024",
            "--threads", "1", "--seconds", "0.02", "--out", str(tmp_path)]
    assert main(args) == 0
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert sorted((r["engine"], r["part"], r["batch"], r["threads"]) for r in rows) == [
        ("ort-cpu-fp32", "decoder", 1024, 1), ("ort-cpu-int8", "decoder", 1024, 1)]
    assert all(r["speedup_vs_torch"] is None for r in rows), "no torch-eager row to compare with"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--engine", "ort-cpu-fp64"], "unknown engine 'ort-cpu-fp64': expected one or more of torch-eager"),
        (["--part", "middle"], "unknown part 'middle'"),
        (["--seconds", "0"], "seconds per cell must be positive"),
        (["--model-dir", "/nonexistent/model"], "/nonexistent/model does not exist"),
    ],
)
def test_bad_requests_get_a_clear_error_and_write_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "out"
    assert main(["bench", "--quick", "--out", str(out), *args]) == 1
    error = capsys.readouterr().err
    assert error.startswith("vaeport bench: error:") and message in error
    assert not out.exists()


def test_flops_are_counted_from_the_graph_weights_as_the_training_config_implies():
    training = SHIPPED.manifest["training"]
    widths = [28 * 28, *training["hidden"]]
    body = sum(a * b for a, b in zip(widths[:-1], widths[1:]))
    encoder = 2 * (body + 2 * widths[-1] * training["latent_dim"])
    decoder = 2 * (body + widths[-1] * training["latent_dim"])
    assert flops_per_image(SHIPPED) == {"encoder": encoder, "decoder": decoder, "roundtrip": encoder + decoder}


@pytest.mark.parametrize("part", PARTS)
def test_every_engine_of_a_precision_computes_the_same_outputs(part):
    """Same weights everywhere: torch-eager, bare sessions and the runtime agree on fp32, the two int8 engines on int8."""
    inputs = make_input(part, 5, SHIPPED.manifest["latent_dim"])
    outputs = {name: create(name, MODEL_DIR, 1).runner(part, inputs)() for name in CPU_ENGINES}
    flat = {name: np.concatenate([np.ravel(a) for a in (out if isinstance(out, (list, tuple)) else [out])])
            for name, out in outputs.items()}
    for reference, others in (("ort-cpu-fp32", ["vaeport-fp32", BASELINE]), ("ort-cpu-int8", ["vaeport-int8"])):
        for name in others:
            if name in flat:
                np.testing.assert_allclose(flat[name], flat[reference], atol=1e-4, err_msg=f"{name} vs {reference}")


def test_rounds_interleave_every_cell_once_per_round_in_a_new_order():
    calls = []
    cells = [Cell("engine", "part", batch, 1, lambda b=batch: calls.append(b), lambda: None, chunk=batch)
             for batch in (1, 2, 3, 4, 5, 6)]
    cells[-1].median_ns = PRIMING_BELOW_NS  # a slow cell: its turns start without an untimed call
    turns = []
    run_rounds(cells, 4, np.random.default_rng(0), lambda: turns.append(calls[-1]))
    rounds = [turns[i:i + 6] for i in range(0, 24, 6)]
    assert all(sorted(r) == [1, 2, 3, 4, 5, 6] for r in rounds)
    assert len({tuple(r) for r in rounds}) > 1, "the order changes between rounds"
    for cell in cells:
        assert len(cell.samples_ns) == 4 * cell.chunk
        primed = cell.median_ns < PRIMING_BELOW_NS
        assert calls.count(cell.batch) == 4 * (cell.chunk + primed)


def test_peak_memory_shows_what_a_first_call_allocates():
    class Allocating:
        def activate(self):
            pass

        def runner(self, part, inputs):
            return lambda: np.ones(64 * 2**20 // 8).sum()  # 64 MiB of float64, touched

    setup = measure_setup(Allocating, "decoder", np.zeros(1))
    if setup["peak_mem_mib"] is None:
        pytest.skip("this kernel offers no resettable peak-memory counter")
    assert 60 <= setup["peak_mem_mib"] < 200
    assert math.isfinite(setup["create_ms"]) and setup["first_call_ms"] > 0


@pytest.mark.parametrize("part", PARTS)
def test_io_binding_runs_the_graphs_on_bound_buffers(part):
    """The binding code of ``ort-cuda-fp32-iobinding``, exercised on the CPU provider that every machine has."""
    inputs = make_input(part, 3, SHIPPED.manifest["latent_dim"])
    plain = OrtEngine(MODEL_DIR, 1, precision="fp32", provider=CPU).runner(part, inputs)()
    bound = OrtIoBindingEngine(MODEL_DIR, 1, precision="fp32", provider=CPU).runner(part, inputs)()
    expected = plain if isinstance(plain, list) else [plain]
    assert len(bound) == len(expected)
    for value, reference in zip(bound, expected):
        np.testing.assert_allclose(value.numpy(), reference, atol=1e-6)


def test_malformed_numbers_are_refused_by_the_command_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--batch", "1,x"])
    assert exit_info.value.code == 2
    assert "expected positive whole numbers separated by commas" in capsys.readouterr().err


def test_without_torch_the_torch_engine_is_skipped_with_a_note(tmp_path):
    """A fresh interpreter in which ``import torch`` fails, as where PyTorch is not installed."""
    code = (
        "import sys\n"
        "sys.modules['torch'] = None\n"
        "from vaeport.cli import main\n"
        f"sys.exit(main(['bench', '--quick', '--engine', 'torch-eager,ort-cpu-int8', '--part', 'decoder', '--out', {str(tmp_path)!r}]))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    results = json.loads((tmp_path / "results.json").read_text())
    assert "torch is not installed" in results["skipped"][BASELINE]
    assert {r["engine"] for r in results["rows"]} == {"ort-cpu-int8"}
    assert "Skipped torch-eager: torch is not installed" in (tmp_path / "results.md").read_text()
