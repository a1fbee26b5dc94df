"""``vaeport bench`` on the shipped graphs with the real onnxruntime (and PyTorch where installed):
it runs, its output is well formed, every engine computes the same thing, and its measuring
machinery does what it says. Speed itself is never asserted."""

import gzip
import importlib.util
import json
import math
import shutil
import subprocess
import sys
import urllib.request
from collections import Counter
from pathlib import Path

import brotli
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from matplotlib.image import imread
from onnx import numpy_helper

from conftest import optimized_op_types
from vaeport.benchmarks import load
from vaeport.benchmarks.browser import cli as browser_cli
from vaeport.benchmarks.browser.measurements import measure_map_bytes, rate, summarise_times
from vaeport.benchmarks.browser.pages import ENGINES as BROWSER_ENGINES
from vaeport.benchmarks.browser.pages import probe_script
from vaeport.benchmarks.browser.report import verdicts
from vaeport.benchmarks.ceiling import SIZE, _graph, _input
from vaeport.benchmarks.engines import (
    BASELINE,
    CPU,
    ENGINES,
    GPU_ENGINES,
    OrtEngine,
    OrtIoBindingEngine,
    create,
    precision_of,
)
from vaeport.benchmarks.harness import CHROMIUM, static_server
from vaeport.benchmarks.profile import MIN_CALLS, kernel_times
from vaeport.benchmarks.report import check_bars
from vaeport.benchmarks.timing import PRIMING_BELOW_NS, Cell, measure_setup, run_rounds
from vaeport.benchmarks.workload import PARTS, flops_per_image, make_input, read_fp32_model
from vaeport.cli import main
from vaeport.contract import GRAPH_FILES
from vaeport.runtime.sessions import open_graph
from vaeport.training import OPENMP_SPIN_COUNT

SHIPPED = read_fp32_model(None)
MODEL_DIR = SHIPPED.location
HAS_TORCH = importlib.util.find_spec("torch") is not None
HAS_CUDA = "CUDAExecutionProvider" in ort.get_available_providers()
CPU_ENGINES = [name for name in ENGINES if name not in GPU_ENGINES and (HAS_TORCH or name != BASELINE)]
ROW_KEYS = {
    "engine",
    "part",
    "batch",
    "threads",
    "p50_us",
    "p90_us",
    "p99_us",
    "images_per_s",
    "gflop_per_s",
    "peak_fraction",
    "ceiling_fraction",
    "speedup_vs_torch",
    "create_ms",
    "first_call_ms",
    "peak_mem_mib",
    "samples",
}


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
        assert row.keys() >= ROW_KEYS
        assert 0 < row["p50_us"] <= row["p90_us"] <= row["p99_us"]
        assert row["samples"] >= 2 and row["first_call_ms"] > 0 and row["create_ms"] > 0
        assert row["images_per_s"] == pytest.approx(row["batch"] / row["p50_us"] * 1e6)
        flops = results["flops_per_image"][row["part"]]
        assert row["gflop_per_s"] == pytest.approx(flops * row["images_per_s"] * 1e-9)
        assert row["peak_fraction"] is None or row["peak_fraction"] > 0
        assert row["ceiling_fraction"] == pytest.approx(
            row["gflop_per_s"] / results["ceilings"][str(row["threads"])][precision_of(row["engine"])]
        )
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
    (y,) = open_graph(model).run(None, {"a": a})
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
    args = [
        "bench",
        "--engine",
        "ort-cpu-int8,ort-cpu-fp32",
        "--part",
        "decoder",
        "--batch",
        "1024",
        "--threads",
        "1",
        "--seconds",
        "0.02",
        "--out",
        str(tmp_path),
    ]
    assert main(args) == 0
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert sorted((r["engine"], r["part"], r["batch"], r["threads"]) for r in rows) == [
        ("ort-cpu-fp32", "decoder", 1024, 1),
        ("ort-cpu-int8", "decoder", 1024, 1),
    ]
    assert all(r["speedup_vs_torch"] is None for r in rows), "no torch-eager row to compare with"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--engine", "ort-cpu-fp64"], "unknown engine 'ort-cpu-fp64': expected one or more of torch-eager"),
        (["--part", "middle"], "unknown part 'middle'"),
        (["--seconds", "0"], "seconds per cell must be positive"),
        (["--model-dir", "/nonexistent/model"], "/nonexistent/model does not exist"),
        (
            ["--profile", "--engine", "ort-cpu-int8", "--batch", "1,64"],
            "--profile profiles one cell: give exactly one --engine, --part, --batch and --threads",
        ),
        (
            ["--profile", "--engine", "torch-eager", "--part", "decoder", "--batch", "1", "--threads", "1"],
            "torch-eager cannot be profiled",
        ),
    ],
)
def test_bad_requests_get_a_clear_error_and_write_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "out"
    assert main(["bench", "--quick", "--out", str(out), *args]) == 1
    error = capsys.readouterr().err
    assert error.startswith("vaeport bench: error:") and message in error
    assert not out.exists()


def test_flops_are_counted_from_the_graph_layers_as_the_training_config_implies():
    """The shipped conv model: 4x4 stride-2 convolutions 28 -> 14 -> 7, dense layers, mirrored."""
    training = SHIPPED.manifest["training"]
    assert training["architecture"] == "conv"
    (c1, c2), dense, latent = (
        training["channels"],
        [7 * 7 * training["channels"][-1], *training["hidden"]],
        training["latent_dim"],
    )
    convs = c1 * 16 * 14 * 14 + c2 * c1 * 16 * 7 * 7  # weights x output positions; the same for the transposed ones
    body = sum(a * b for a, b in zip(dense[:-1], dense[1:]))
    encoder = 2 * (convs + body + 2 * dense[-1] * latent)
    decoder = 2 * (convs + body + dense[-1] * latent)
    assert flops_per_image(SHIPPED) == {"encoder": encoder, "decoder": decoder, "roundtrip": encoder + decoder}


@pytest.mark.parametrize("part", PARTS)
def test_every_engine_of_a_precision_computes_the_same_outputs(part):
    """Same weights everywhere: torch-eager, bare sessions and the runtime agree on fp32, the two int8 engines on int8."""
    inputs = make_input(part, 5, SHIPPED.manifest["latent_dim"])
    outputs = {name: create(name, MODEL_DIR, 1).runner(part, inputs)() for name in CPU_ENGINES}
    flat = {
        name: np.concatenate([np.ravel(a) for a in (out if isinstance(out, (list, tuple)) else [out])])
        for name, out in outputs.items()
    }
    for reference, others in (("ort-cpu-fp32", ["vaeport-fp32", BASELINE]), ("ort-cpu-int8", ["vaeport-int8"])):
        for name in others:
            if name in flat:
                np.testing.assert_allclose(flat[name], flat[reference], atol=1e-4, err_msg=f"{name} vs {reference}")


def test_rounds_interleave_every_cell_once_per_round_in_a_new_order():
    calls = []
    cells = [
        Cell("engine", "part", batch, 1, lambda b=batch: calls.append(b), lambda: None, chunk=batch)
        for batch in (1, 2, 3, 4, 5, 6)
    ]
    cells[-1].median_ns = PRIMING_BELOW_NS  # a slow cell: its turns start without an untimed call
    turns = []
    run_rounds(cells, 4, np.random.default_rng(0), lambda: turns.append(calls[-1]))
    rounds = [turns[i : i + 6] for i in range(0, 24, 6)]
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


def test_an_engine_refuses_graphs_that_do_not_match_the_manifest(tmp_path, capsys):
    """The bare-session engines open graphs as the runtime does: SHA-256 checked before onnxruntime reads them."""
    model = tmp_path / "model"
    shutil.copytree(MODEL_DIR, model, ignore=shutil.ignore_patterns("__*"))
    (model / GRAPH_FILES["int8"]["decoder"]).write_bytes(b"not the graph the manifest describes")
    args = [
        "bench",
        "--engine",
        "ort-cpu-int8",
        "--part",
        "decoder",
        "--batch",
        "1",
        "--threads",
        "1",
        "--model-dir",
        str(model),
        "--out",
        str(tmp_path / "out"),
    ]
    assert main(args) == 1
    error = capsys.readouterr().err
    assert "could not load the int8 graphs" in error and "SHA-256" in error and GRAPH_FILES["int8"]["decoder"] in error


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_profile_shares_the_time_among_every_kernel_the_cell_runs(tmp_path, capsys, precision):
    args = [
        "bench",
        "--profile",
        "--engine",
        f"ort-cpu-{precision}",
        "--part",
        "decoder",
        "--batch",
        "64",
        "--threads",
        "1",
        "--seconds",
        "0.05",
        "--out",
        str(tmp_path),
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    profile = json.loads((tmp_path / "profile.json").read_text())
    expected = optimized_op_types(Path(MODEL_DIR) / GRAPH_FILES[precision]["decoder"], tmp_path)
    assert {row["op_type"]: row["nodes"] for row in profile["by_op_type"]} == dict(expected)
    assert sum(row["share"] for row in profile["by_op_type"]) == pytest.approx(1.0)
    assert sum(row["us"] for row in profile["by_node"]) == pytest.approx(profile["kernel_us"])
    assert profile["calls"] >= MIN_CALLS and 0 < profile["kernel_us"] <= profile["run_us"] * 1.01
    assert (profile["engine"], profile["part"], profile["batch"], profile["threads"]) == (
        f"ort-cpu-{precision}",
        "decoder",
        64,
        1,
    )
    assert printed.startswith(f"# Profile: ort-cpu-{precision}, decoder, batch 64, 1 thread")
    for row in profile["by_op_type"]:
        assert f"| {row['op_type']} | {row['share']:.1%} |" in printed
    assert (tmp_path / "profile.md").read_text() in printed


def test_a_round_trip_profile_covers_both_graphs(tmp_path):
    args = [
        "bench",
        "--profile",
        "--engine",
        "ort-cpu-fp32",
        "--part",
        "roundtrip",
        "--batch",
        "8",
        "--threads",
        "1",
        "--seconds",
        "0.02",
        "--out",
        str(tmp_path),
    ]
    assert main(args) == 0
    nodes = [row["node"] for row in json.loads((tmp_path / "profile.json").read_text())["by_node"]]
    assert {node.split("/")[0] for node in nodes} == {"encoder", "decoder"}
    expected = sum(
        optimized_op_types(Path(MODEL_DIR) / GRAPH_FILES["fp32"][role], tmp_path).total()
        for role in ("encoder", "decoder")
    )
    assert len(nodes) == expected


def test_profile_leaves_out_the_warm_up_runs():
    """A made-up trace: two warm-up runs whose kernels must not count, then three timed runs."""

    def run(ts, kernels):
        events = [{"cat": "Session", "name": "model_run", "ts": ts, "dur": 100}]
        for offset, (node, op, dur) in enumerate(kernels):
            events.append(
                {
                    "cat": "Node",
                    "name": f"{node}_kernel_time",
                    "ts": ts + offset + 1,
                    "dur": dur,
                    "args": {"op_name": op},
                }
            )
            events.append(
                {"cat": "Node", "name": f"{node}_fence_before", "ts": ts + offset, "dur": 0, "args": {"op_name": op}}
            )
        return events

    warm = [("gemm", "QGemm", 1000), ("exp", "Exp", 1000)]
    timed = [("gemm", "QGemm", 60), ("exp", "Exp", 20), ("rec", "Reciprocal", 20)]
    trace = run(0, warm) + run(200, warm) + run(400, timed) + run(600, timed) + run(800, timed)
    result = kernel_times({"decoder": trace}, skip_runs=2, calls=3)
    assert result["kernel_us"] == 100 and result["run_us"] == 100
    assert [(r["op_type"], r["us"], r["share"], r["nodes"]) for r in result["by_op_type"]] == [
        ("QGemm", 60, 0.6, 1),
        ("Exp", 20, 0.2, 1),
        ("Reciprocal", 20, 0.2, 1),
    ]
    assert [r["node"] for r in result["by_node"]] == ["decoder/gemm", "decoder/exp", "decoder/rec"]


def _bar_rows(speedup: float, share: float) -> list[dict]:
    torch_row = {
        "engine": BASELINE,
        "part": "decoder",
        "batch": 1024,
        "threads": 1,
        "gflop_per_s": 50.0,
        "speedup_vs_torch": 1.0,
        "ceiling_fraction": 0.5,
    }
    int8_row = {
        "engine": "ort-cpu-int8",
        "part": "decoder",
        "batch": 1024,
        "threads": 1,
        "gflop_per_s": 50.0 * speedup,
        "speedup_vs_torch": speedup,
        "ceiling_fraction": share,
    }
    return [torch_row, int8_row]


@pytest.mark.parametrize(
    ("flags", "speedup", "share", "met"),
    [
        (["avx2", "avx512_vnni"], 4.2, 0.35, True),
        (["avx2", "avx512_vnni"], 4.2, 0.25, False),  # fast enough over PyTorch, too far under the ceiling
        (["avx2", "amx_int8"], 3.9, 0.50, False),
        (["avx2", "fma"], 2.0, 0.20, None),  # no VNNI or AMX: reported with its bound, not judged
    ],
)
def test_the_int8_bar_asks_for_speed_up_and_ceiling_share_where_int8_is_fast(flags, speedup, share, met):
    ceilings = {1: {"fp32": 100.0, "int8": 400.0}}
    (bar,) = [b for b in check_bars(_bar_rows(speedup, share), ceilings, flags) if b["engine"] == "ort-cpu-int8"]
    assert bar["met"] is met and bar["applies"] == (met is not None)
    assert (bar["required_speedup"], bar["required_ceiling_fraction"]) == (4.0, 0.30)
    assert bar["ceiling_speedup"] == pytest.approx(400.0 / 50.0)


# --- the demo's browser benchmark and API load test ------------------------------------------


def test_browser_benchmark_summaries_are_numpy_percentiles_and_rates_per_second():
    assert summarise_times([4.0, 1.0, 3.0, 2.0]) == {
        "count": 4,
        "median": 2.5,
        "p90": pytest.approx(3.7),
        "max": 4.0,
        "samples": [4.0, 1.0, 3.0, 2.0],
    }
    assert rate(30, 1000.0, 2500.0) == 20.0  # 30 events in 1.5 s of page time


def _engine_results(
    name, shown_ms, painted_ms, decode_ms, next_frame, encodes_per_s, moves_per_s, seconds=2.0, map_frame_ms=0.4
):
    inputs = {
        "input_to_shown_ms": {"median": shown_ms},
        "input_to_painted_ms": {"median": painted_ms},
        "decode_ms": {"median": decode_ms},
        "next_frame_fraction": next_frame,
    }
    return {
        "name": name,
        "slider": inputs,
        "map": {**inputs, "frame_ms": {"median": map_frame_ms}, "frame_draw_ms": {"median": map_frame_ms / 3}},
        "stroke": {
            "encodes_per_s": encodes_per_s,
            "pointer_moves_per_s": moves_per_s,
            "encodes": round(encodes_per_s * seconds),
            "pointer_moves": round(moves_per_s * seconds),
        },
    }


def test_the_map_bytes_are_what_the_map_section_adds_to_the_manifest_the_page_fetches(vae):
    sizes = measure_map_bytes("fp32")
    section = ',"map":' + json.dumps(vae.manifest["map"], separators=(",", ":"))
    assert sizes["raw"] == len(section) and sizes["manifest_raw"] > sizes["raw"]
    assert 0 < sizes["gzip"] < sizes["raw"] and sizes["gzip"] < sizes["manifest_gzip"] < sizes["manifest_raw"]


def test_browser_benchmark_verdicts_say_what_limits_an_engine_that_falls_short():
    assert verdicts(_engine_results("browser", 15.8, 1.2, 0.3, 1.0, 45.0, 45.0)) == {
        "slider": {"met": True, "why": None},
        "map": {"met": True, "why": None},
        "map_frame": {"met": True, "why": None},
        "pad": {"met": True, "why": None},
    }
    late = verdicts(_engine_results("browser", 32.0, 1.2, 0.3, 0.25, 20.0, 24.0, map_frame_ms=6.0))
    assert "only 25% of digits were shown at the first frame after their input" in late["slider"]["why"]
    assert late["map"] == late["slider"]
    assert late["map_frame"]["why"] == "a frame takes 6.00 ms, of which 2.00 ms to draw and the rest to rasterise"
    assert "the pointer moved only 24.00 times a second" in late["pad"]["why"]
    assert "the page encoded after 40 of its 48 moves" in late["pad"]["why"]
    slow = verdicts(_engine_results("browser", 40.0, 20.0, 20.5, 0.0, 25.0, 58.0))
    assert "the decode alone takes 20.5 ms" in slow["slider"]["why"]
    assert "one encode every 40 ms (preprocessing, encoder and decoder in wasm)" in slow["pad"]["why"]
    server = verdicts(_engine_results("server", 48.0, 31.0, 0.4, 0.0, 12.5, 58.0))
    assert "painted 31.0 ms after the input, of which the server's decode is 0.40 ms" in server["slider"]["why"]
    assert "one encode every 80 ms (a round trip to the server)" in server["pad"]["why"]
    assert not any(
        verdict["met"]
        for result in (late, slow, server)
        for verdict in result.values()
        if verdict is not result["map_frame"]
    )
    assert slow["map_frame"]["met"] and server["map_frame"]["met"]  # their frames took 0.4 ms


def test_the_browser_probe_runs_as_a_script_added_before_the_page(tmp_path):
    """The probe is an ES module (its node tests import it); pages get it as a classic script, in
    which an ``export`` left over would be a syntax error."""
    script = tmp_path / "probe.js"  # outside any package.json: node reads it as a classic script
    script.write_text(probe_script())
    result = subprocess.run(["node", "--check", str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_load_summary_counts_calls_per_second_and_takes_percentiles_in_milliseconds():
    assert load.call_stats([0.1, 0.4, 0.3, 0.2], 2.0) == pytest.approx(
        {"calls": 4, "calls_per_s": 2.0, "p50_ms": 250.0, "p90_ms": 370.0, "p99_ms": 397.0, "max_ms": 400.0}
    )
    assert load.call_stats([], 2.0) == {"calls": 0}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--moves", "0"], "argument --moves: expected a whole number of at least 1, got 0"),
        (["--seconds", "soon"], "argument --seconds: expected a number from 0.5 to 60, got 'soon'"),
        (["--precision", "fp16"], "argument --precision: invalid choice: 'fp16'"),
        (
            ["--ort-web", "/nonexistent/dist"],
            "--ort-web /nonexistent/dist is not a folder; point --ort-web at the dist/ folder",
        ),
    ],
)
def test_browser_benchmark_refuses_bad_options_before_it_starts_anything(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        browser_cli.main([*args, "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--url", "http://192.0.2.1:7860/"],
            "--url must point at this machine (127.0.0.1, localhost, ::1); got host '192.0.2.1'",
        ),
        (["--clients", "0"], "argument --clients: expected a whole number from 1 to 64, got 0"),
        (["--duration", "soon"], "argument --duration: expected a number from 1 to 600, got 'soon'"),
    ],
)
def test_load_test_refuses_bad_options_and_any_host_off_this_machine(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        load.main([*args, "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")  # pandas deprecations inside Gradio
def test_a_short_load_test_calls_every_endpoint_through_gradio_client_without_errors(demo_url, tmp_path, capsys):
    """Two clients, one decode per cycle: each finishes the cycle it is in when the time is up, so
    every endpoint is called at least twice whatever the machine's speed."""
    load.main(["--clients", "2", "--duration", "1", "--decodes", "1", "--url", demo_url, "--out", str(tmp_path)])
    results = json.loads((tmp_path / "load.json").read_text())
    assert results["errors"] == 0 and results["bar"]["met"] and results["error_messages"] == {}
    counts = Counter(name for name, _, _ in results["calls"])
    assert set(counts) == set(load.ENDPOINTS) and min(counts.values()) >= 2
    assert {name: row["calls"] for name, row in results["endpoints"].items()} == counts
    assert results["all"]["calls"] == sum(counts.values())
    assert results["client"]["gradio_client"] and results["client"]["cpu_ms_per_call"] > 0
    assert "2 clients for" in capsys.readouterr().out
    assert imread(tmp_path / "load.png").std() > 0.05


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed")
def test_a_short_browser_benchmark_measures_both_engines_end_to_end(ort_dist, tmp_path, capsys):
    pytest.importorskip("playwright")
    browser_cli.main(
        [
            "--moves",
            "3",
            "--clicks",
            "2",
            "--seconds",
            "0.5",
            "--loads",
            "1",
            "--rounds",
            "1",
            "--precision",
            "int8",
            "--ort-web",
            str(ort_dist),
            "--out",
            str(tmp_path),
            "--screenshot",
            str(tmp_path / "demo.png"),
        ]
    )
    results = json.loads((tmp_path / "browser.json").read_text())
    for name in BROWSER_ENGINES:
        engine = results["engines"][name]
        slider = engine["slider"]
        assert slider["input_to_painted_ms"]["count"] == slider["input_to_shown_ms"]["count"] == 3
        assert min(slider["input_to_painted_ms"]["samples"]) >= 0 and 0 <= slider["next_frame_fraction"] <= 1
        assert engine["drag"]["digits_shown"] > 0 and engine["stroke"]["encodes"] > 0
        assert engine["tiles"]["click_to_set_ms"]["count"] == 2
        assert engine["map"]["input_to_shown_ms"]["count"] == 3 and engine["map"]["frame_ms"]["count"] >= 3
        assert 0 < engine["map"]["frame_draw_ms"]["median"] <= engine["map"]["frame_ms"]["median"]
        assert set(engine["verdict"]) == {"slider", "map", "map_frame", "pad"}
    parts = ("slider", "drag", "stroke", "tiles", "map")
    assert {part: results["engines"]["browser"][part]["server_calls"] for part in parts} == dict.fromkeys(parts, 0)
    assert results["engines"]["server"]["slider"]["server_calls"] >= 3
    assert 0 < results["engine_start"]["built_ms"]["median"] < results["engine_start"]["ready_ms"]["median"]
    first = results["first_load"]
    assert first["precision"] == "int8" and len(first["links"]) == 2
    for visit in first["links"].values():
        assert 0 < visit["progress_ms"] < visit["sliders_ms"] < visit["pad_ms"]
        assert 1e6 < visit["bytes"] < 10e6  # the compressed copies, not the 14 MB of the raw wasm
    calls = results["calls"]
    assert results["precision"] == calls["precision"] == "int8"  # what the page's engine ran, as asked
    for runtime in ("wasm_ms", "python_ms"):
        assert all(calls[runtime][part]["median"] > 0 for part in ("decode", "encode"))
    assert results["machine"]["cpu"]["model"] and "HeadlessChrome" in results["user_agent"]
    assert "browser engine:" in capsys.readouterr().out
    for picture in ("browser.png", "demo.png"):
        assert imread(tmp_path / picture).std() > 0.05, f"{picture} is blank"


def test_the_static_server_sends_the_compressed_copy_a_browser_accepts(tmp_path):
    original = b"import {start} from './demo.mjs';\n" * 100
    for name in ("page.mjs", "index.html"):
        (tmp_path / name).write_bytes(original)
        (tmp_path / f"{name}.br").write_bytes(brotli.compress(original))
        (tmp_path / f"{name}.gz").write_bytes(gzip.compress(original))
    with static_server(tmp_path) as url:
        for path, accept, encoding, decode, kind in (
            ("page.mjs", "gzip, deflate, br", "br", brotli.decompress, "text/javascript"),
            ("page.mjs", "gzip", "gzip", gzip.decompress, "text/javascript"),
            ("page.mjs", "br;q=0, gzip;q=0.5", "gzip", gzip.decompress, "text/javascript"),
            ("page.mjs", "identity", None, bytes, "text/javascript"),
            ("", "br", "br", brotli.decompress, "text/html"),
        ):
            request = urllib.request.Request(url + path, headers={"Accept-Encoding": accept})
            with urllib.request.urlopen(request) as response:
                assert response.headers.get("Content-Encoding") == encoding, (path, accept)
                assert response.headers["Content-Type"] == kind
                assert decode(response.read()) == original
