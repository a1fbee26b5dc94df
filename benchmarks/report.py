"""The written results: results.json, a markdown report with the bars and one table per part, and the plots."""

import json
from pathlib import Path

from vaeport.benchmarks.engines import BASELINE, ENGINES, precision_of
from vaeport.benchmarks.plots import write_plots

# What the project promises on the decoder: (engine, batch, speed-up over torch-eager at least, share of
# onnxruntime's GEMM ceiling at least, promised only on CPUs with fast int8 instructions).
BARS = (
    ("vaeport-fp32", 1, 2.5, None, False),
    ("ort-cpu-int8", 1024, 4.0, 0.30, True),
    ("ort-cpu-fp32", 1024, 1.05, None, False),
)
BAR_PART = "decoder"
# CPU flags of instructions that multiply 8-bit integers in one step (AVX512-VNNI, AVX-VNNI, AMX). Without
# them an 8-bit multiply-add takes several instructions and the int8 ceiling stays near the fp32 one, so the
# int8 bar is reported there, with what bounds it, but not promised.
FAST_INT8_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")

COLUMNS = (  # (header, row key, format)
    ("engine", "engine", "{}"),
    ("batch", "batch", "{}"),
    ("threads", "threads", "{}"),
    ("p50 µs", "p50_us", "{:,.1f}"),
    ("p90 µs", "p90_us", "{:,.1f}"),
    ("p99 µs", "p99_us", "{:,.1f}"),
    ("calls", "samples", "{}"),
    ("images/s", "images_per_s", "{:,.0f}"),
    ("GFLOP/s", "gflop_per_s", "{:.1f}"),
    ("% of peak", "peak_fraction", "{:.0%}"),
    ("% of ceiling", "ceiling_fraction", "{:.0%}"),
    ("× torch", "speedup_vs_torch", "{:.2f}"),
    ("create ms", "create_ms", "{:.1f}"),
    ("first call ms", "first_call_ms", "{:.2f}"),
    ("peak MiB", "peak_mem_mib", "{:.1f}"),
)


def check_bars(rows: list[dict], ceilings: dict[int, dict[str, float]], cpu_flags=()) -> list[dict]:
    """Each bar at every thread count measured; a bar whose cells were not measured says so.

    ``ceiling_speedup`` is the most this CPU allows: onnxruntime's GEMM ceiling at the engine's
    precision over PyTorch's GFLOP/s in the same cell. A bar promised only on CPUs with fast int8
    instructions (``cpu_flags`` holds none of ``FAST_INT8_FLAGS``) is measured but not judged: ``met`` is None
    and ``applies`` False.
    """
    torch_gflops = {(r["part"], r["batch"], r["threads"]): r["gflop_per_s"] for r in rows if r["engine"] == BASELINE}
    fast_int8 = any(flag in cpu_flags for flag in FAST_INT8_FLAGS)
    checks = []
    for engine, batch, required, required_share, fast_int8_only in BARS:
        applies = fast_int8 or not fast_int8_only
        matches = [r for r in rows if (r["engine"], r["part"], r["batch"]) == (engine, BAR_PART, batch)]
        for row in matches or [{"threads": None, "speedup_vs_torch": None, "ceiling_fraction": None}]:
            speedup, share = row["speedup_vs_torch"], row["ceiling_fraction"]
            baseline = torch_gflops.get((BAR_PART, batch, row["threads"]))
            judged = applies and speedup is not None and (required_share is None or share is not None)
            checks.append(
                {
                    "engine": engine,
                    "part": BAR_PART,
                    "batch": batch,
                    "threads": row["threads"],
                    "required_speedup": required,
                    "speedup": speedup,
                    "required_ceiling_fraction": required_share,
                    "ceiling_fraction": share,
                    "ceiling_speedup": ceilings[row["threads"]][precision_of(engine)] / baseline if baseline else None,
                    "applies": applies,
                    "met": (speedup >= required and (required_share is None or share >= required_share))
                    if judged
                    else None,
                }
            )
    return checks


def write_report(results: dict, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    (out_dir / "results.md").write_text(markdown(results))
    write_plots(results["rows"], out_dir)


def _cell(value, pattern: str) -> str:
    return "–" if value is None else pattern.format(value)


def _table(headers: list[str], lines: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
        *("| " + " | ".join(line) + " |" for line in lines),
    ]


def markdown(results: dict) -> str:
    machine, settings, cpu = results["machine"], results["settings"], results["machine"]["cpu"]
    versions = ", ".join(f"{name} {version}" for name, version in machine["versions"].items())
    environment = ", ".join(f"{name}={value}" for name, value in machine["thread_environment"].items() if value)
    text = [
        "# vaeport inference benchmark",
        "",
        f"- CPU: {cpu['model']}, {cpu['usable_cpus']} usable of {cpu['logical_cpus']} logical CPUs"
        f" ({cpu['physical_cores']} physical cores), vector flags {', '.join(cpu['vector_flags']) or 'none'}",
        f"- fp32 peak: {cpu['peak_formula']} (clock from {cpu['clock_source']}; FMA units per core assumed)",
        "- onnxruntime GEMM ceilings (one 1024x1024x1024 product, constant weights): "
        + "; ".join(
            f"{count} thread{'s' if count != '1' else ''}: fp32 MatMul {values['fp32']:.1f} GFLOP/s,"
            f" int8 MatMulInteger {values['int8']:.1f} GOP/s ({values['int8'] / values['fp32']:.2f}x fp32)"
            for count, values in results["ceilings"].items()
        ),
        f"- GPU: {', '.join(machine['gpus']) or 'none'}; onnxruntime providers: {', '.join(machine['onnxruntime_providers'])}",
        f"- Libraries: {versions}",
        f"- Threads: {environment or 'no thread variables set'}; " + "; ".join(settings["thread_notes"]),
        f"- Load average (1, 5, 15 min): {_load(machine['load_average_start'])} at the start, {_load(machine['load_average_end'])} at the end",
        f"- Method: warm-up, then {settings['rounds']} rounds over all cells in shuffled order, about"
        f" {settings['seconds_per_cell']} s of timed calls per cell; latency percentiles over single calls;"
        " images/s and GFLOP/s from the median; × torch is torch-eager's median over this engine's, same run",
    ]
    text += [f"- Skipped {name}: {reason}" for name, reason in results["skipped"].items()]
    text += ["", f"## Bars: the {BAR_PART} against {BASELINE} and the GEMM ceiling", ""]
    text += _table(
        ["engine", "batch", "threads", "needs", "measured", "ceiling allows", "share of its ceiling", "met"],
        [
            [
                bar["engine"],
                str(bar["batch"]),
                _cell(bar["threads"], "{}"),
                _needs(bar),
                _cell(bar["speedup"], "{:.2f}x"),
                _cell(bar["ceiling_speedup"], "{:.2f}x"),
                _cell(bar["ceiling_fraction"], "{:.0%}"),
                _verdict(bar),
            ]
            for bar in results["bars"]
        ],
    )
    order = {name: index for index, name in enumerate(ENGINES)}
    for part in settings["parts"]:
        rows = sorted(
            (r for r in results["rows"] if r["part"] == part),
            key=lambda r: (r["threads"], r["batch"], order[r["engine"]]),
        )
        text += ["", f"## {part} ({results['flops_per_image'][part] / 1e6:.2f} MFLOP per image)", ""]
        text += _table([c[0] for c in COLUMNS], [[_cell(r[key], pattern) for _, key, pattern in COLUMNS] for r in rows])
    return "\n".join(text) + "\n"


def _needs(bar: dict) -> str:
    share = bar.get("required_ceiling_fraction")
    return f"{bar['required_speedup']}x" + (f" and {share:.0%} of its ceiling" if share else "")


def _verdict(bar: dict) -> str:
    if not bar.get("applies", True):
        return "not promised here: this CPU has no VNNI or AMX (the ceiling column is the bound)"
    if bar["met"] is None:
        return f"not measured (needs {bar['engine']}, {BASELINE} and batch {bar['batch']} in the run)"
    return "yes" if bar["met"] else "NO"


def _load(average: list[float] | None) -> str:
    return "unknown" if average is None else " ".join(f"{value:.2f}" for value in average)
