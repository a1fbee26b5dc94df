"""``vaeport bench``: choose the cells, measure them, write results.json, results.md and the plots."""

import os
from functools import partial
from pathlib import Path

import numpy as np
from tqdm import tqdm

from vaeport.benchmarks.ceiling import measure_ceilings
from vaeport.benchmarks.engines import BASELINE, ENGINES, GPU_ENGINES, create, precision_of
from vaeport.benchmarks.errors import BenchmarkError, EngineUnavailable
from vaeport.benchmarks.machine import describe_machine, usable_cores
from vaeport.benchmarks.report import check_bars, write_report
from vaeport.benchmarks.timing import Cell, latency_summary, measure_setup, run_rounds, warm_up
from vaeport.benchmarks.workload import PARTS, flops_per_image, make_input, read_fp32_model

DEFAULT_BATCHES = (1, 8, 64, 512, 4096)
QUICK_BATCHES = (1, 64)
FULL = {"seconds_per_cell": 1.0, "rounds": 10, "warmup_s": 0.1}
QUICK = {"seconds_per_cell": 0.01, "rounds": 2, "warmup_s": 0.005}
THREAD_NOTES = (
    "onnxruntime: intra_op_num_threads = threads, thread-pool spinning left at its default (on)",
    "PyTorch: torch.set_num_threads(threads) before each turn; GOMP_SPINCOUNT is set as in training:"
    " OpenMP workers spin well under a millisecond between operations, like onnxruntime's pool, then sleep",
)


def _select(kind: str, asked: tuple[str, ...] | None, known: tuple[str, ...]) -> tuple[str, ...]:
    if asked is None:
        return known
    unknown = [name for name in asked if name not in known]
    if unknown or not asked:
        raise BenchmarkError(
            f"unknown {kind} {', '.join(map(repr, unknown))}: expected one or more of {', '.join(known)}"
        )
    return tuple(dict.fromkeys(asked))


def run_benchmark(
    out_dir: Path,
    model_dir: Path | None = None,
    engines: tuple[str, ...] | None = None,
    parts: tuple[str, ...] | None = None,
    batches: tuple[int, ...] | None = None,
    threads: tuple[int, ...] | None = None,
    seconds_per_cell: float | None = None,
    quick: bool = False,
    seed: int = 0,
) -> dict:
    """Measure every engine x part x batch x thread count and write the report to ``out_dir``.

    ``quick`` is a smoke run: batches 1 and 64, all cores only, a few milliseconds per cell.
    Returns the results as written to results.json.
    """
    if seconds_per_cell is not None and not seconds_per_cell > 0:
        raise BenchmarkError(f"seconds per cell must be positive, got {seconds_per_cell}")
    model = read_fp32_model(model_dir)
    model_dir = Path(model.location)
    engines = _select("engine", engines, ENGINES)
    parts = _select("part", parts, PARTS)
    batches = tuple(sorted(set(batches or (QUICK_BATCHES if quick else DEFAULT_BATCHES))))
    all_cores = usable_cores()
    threads = tuple(sorted(set(threads or ((all_cores,) if quick else (1, all_cores)))))
    settings = {
        **(QUICK if quick else FULL),
        **({"seconds_per_cell": seconds_per_cell} if seconds_per_cell is not None else {}),
        "engines": engines,
        "parts": parts,
        "batches": batches,
        "threads": threads,
        "seed": seed,
        "quick": quick,
        "model_dir": str(model_dir),
        "thread_notes": THREAD_NOTES,
    }
    flops = flops_per_image(model)
    inputs = {
        (part, batch): make_input(part, batch, model.manifest["latent_dim"], seed)
        for part in parts
        for batch in batches
    }

    live, skipped = _create_engines(engines, threads, model_dir)
    machine = describe_machine()  # after the engines, so that the thread settings they make are recorded
    cells = [
        Cell(name, part, batch, count, engine.runner(part, inputs[part, batch]), engine.activate)
        for (name, count), engine in live.items()
        for part in parts
        for batch in batches
    ]
    _measure(cells, settings, model_dir, inputs)
    ceilings = measure_ceilings(threads, settings["seconds_per_cell"])

    rows = _rows(cells, flops, machine["cpu"], ceilings)
    machine["load_average_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    results = {
        "machine": machine,
        "settings": settings,
        "flops_per_image": flops,
        "skipped": skipped,
        "ceilings": {str(count): values for count, values in ceilings.items()},
        "rows": rows,
        "bars": check_bars(rows, ceilings, machine["cpu"]["flags"]),
    }
    write_report(results, Path(out_dir))
    return results


def _measure(cells: list[Cell], settings: dict, model_dir: Path, inputs: dict) -> None:
    """Warm every cell up, time a fresh engine's creation and first call per cell, then the rounds."""
    with tqdm(total=len(cells) * (2 + settings["rounds"]), desc="warm-up", unit="turn") as progress:
        for cell in cells:
            warm_up(cell, settings["warmup_s"], settings["rounds"], settings["seconds_per_cell"])
            progress.update()
        progress.set_description("first calls")
        for cell in cells:
            fresh = partial(create, cell.engine, model_dir, cell.threads)
            cell.setup = measure_setup(fresh, cell.part, inputs[cell.part, cell.batch])
            progress.update()
        progress.set_description("rounds")
        run_rounds(cells, settings["rounds"], np.random.default_rng(settings["seed"]), progress.update)


def _create_engines(engines, threads, model_dir) -> tuple[dict, dict[str, str]]:
    """One engine per name and thread count; names that cannot run here are skipped with the reason."""
    live, skipped = {}, {}
    for name in engines:
        try:
            for count in threads:
                live[name, count] = create(name, model_dir, count)
        except EngineUnavailable as reason:
            skipped[name] = str(reason)
            live = {key: engine for key, engine in live.items() if key[0] != name}
    if not live:
        raise BenchmarkError(
            "none of the engines asked for can run here: " + "; ".join(f"{k}: {v}" for k, v in skipped.items())
        )
    return live, skipped


def _rows(cells: list[Cell], flops: dict[str, int], cpu: dict, ceilings: dict[int, dict[str, float]]) -> list[dict]:
    """One row per cell: latency percentiles, throughput, GFLOP/s against the CPU's peak and onnxruntime's
    GEMM ceiling at the cell's precision, speed-up over PyTorch."""
    rows = []
    for cell in cells:
        latency = latency_summary(cell.samples_ns)
        seconds = latency["p50_us"] * 1e-6
        gflops = flops[cell.part] * cell.batch / seconds * 1e-9
        peak = (
            cpu["peak_gflops_per_core"] * min(cell.threads, cpu["peak_cores"]) if cpu["peak_gflops_per_core"] else None
        )
        on_cpu = cell.engine not in GPU_ENGINES
        rows.append(
            {
                "engine": cell.engine,
                "part": cell.part,
                "batch": cell.batch,
                "threads": cell.threads,
                **latency,
                "images_per_s": cell.batch / seconds,
                "gflop_per_s": gflops,
                "peak_fraction": gflops / peak if peak and on_cpu else None,
                "ceiling_fraction": gflops / ceilings[cell.threads][precision_of(cell.engine)] if on_cpu else None,
                **cell.setup,
            }
        )
    p50 = {(r["engine"], r["part"], r["batch"], r["threads"]): r["p50_us"] for r in rows}
    for row in rows:
        baseline = p50.get((BASELINE, row["part"], row["batch"], row["threads"]))
        row["speedup_vs_torch"] = baseline / row["p50_us"] if baseline else None
    return rows
