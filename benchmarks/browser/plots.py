"""The browser benchmark's figure: latencies, live-update rates, and one call in wasm beside Python."""

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from vaeport.benchmarks.browser.pages import ENGINES
from vaeport.benchmarks.browser.report import PAD_TARGET_PER_S, SLIDER_TARGET_MS


def _cdf(axis, samples: list[float], **style) -> None:
    ordered = np.sort(samples)
    axis.step(ordered, np.arange(1, len(ordered) + 1) / len(ordered), where="post", **style)


def plot(results: dict, path: Path) -> None:
    """Latency CDFs per engine, live-update rates per engine, and per-call times in wasm and in Python."""
    figure = Figure(figsize=(15, 4.4), layout="constrained")
    latency, rates, calls = figure.subplots(1, 3, width_ratios=(1.6, 1, 1))
    for colour, engine in enumerate(ENGINES):
        measured = results["engines"][engine]
        shown = measured["slider"]["input_to_shown_ms"]
        curves = (
            (shown, "-", f"slider input → shown (median {shown['median']:.1f})"),
            (measured["slider"]["input_to_painted_ms"], "--", "slider input → painted"),
            (measured["tiles"]["click_to_set_ms"], ":", "tile click → sliders set"),
            (measured["map"]["input_to_shown_ms"], "-.", "map press → shown"),
        )
        for summary, linestyle, what in curves:
            _cdf(latency, summary["samples"], color=f"C{colour}", linestyle=linestyle, label=f"{engine}: {what}")
    latency.axvline(SLIDER_TARGET_MS, color="grey", linewidth=1, label=f"target: median ≤ {SLIDER_TARGET_MS:.1f} ms")
    latency.set(xlabel="milliseconds, in the page", ylabel="fraction of events", title="Latency in headless Chromium")
    latency.set_xlim(left=0)
    latency.legend(loc="lower right", fontsize=7)

    names = ("digits shown / s\nfast drag", "pad encodes / s\nduring a stroke")
    width = 0.38
    for colour, engine in enumerate(ENGINES):
        measured = results["engines"][engine]
        values = (measured["drag"]["digits_per_s"], measured["stroke"]["encodes_per_s"])
        bars = rates.bar(np.arange(2) + (colour - 0.5) * width, values, width, color=f"C{colour}", label=engine)
        rates.bar_label(bars, fmt="%.0f", fontsize=8)
        rates.scatter(
            [1 + (colour - 0.5) * width],
            [measured["stroke"]["pointer_moves_per_s"]],
            marker="_",
            s=600,
            color="black",
            label="pointer moves / s (Playwright)" if colour == 0 else None,
        )
    rates.axhline(PAD_TARGET_PER_S, color="grey", linewidth=1, label=f"pad target: {PAD_TARGET_PER_S:.0f} / s")
    rates.set_xticks(np.arange(2), names)
    rates.set(ylabel="per second", title="Live updates")
    rates.set_ylim(top=rates.get_ylim()[1] * 1.3)
    rates.legend(fontsize=7, loc="upper right")

    measured_calls = results["calls"]
    parts = list(measured_calls["wasm_ms"])
    for offset, (runtime, key) in enumerate(
        (("onnxruntime-web (wasm)", "wasm_ms"), ("onnxruntime (Python)", "python_ms"))
    ):
        values = [measured_calls[key][part]["median"] * 1000 for part in parts]
        bars = calls.bar(
            np.arange(len(parts)) + (offset - 0.5) * width, values, width, color=f"C{offset + 2}", label=runtime
        )
        calls.bar_label(bars, fmt="%.0f", fontsize=8)
    calls.set_xticks(np.arange(len(parts)), [f"{part}\n{measured_calls['precision']}" for part in parts])
    calls.set(ylabel="µs per call (median), one digit, one thread", title="One call, wasm beside Python")
    calls.set_ylim(top=calls.get_ylim()[1] * 1.15)
    calls.legend(fontsize=7, loc="upper left")
    ready = results["engine_start"]["ready_ms"]["median"]
    figure.suptitle(
        f"{results['machine']['cpu']['model']}, {results['machine']['cpu']['usable_cpus']} cores; "
        f"browser engine ready {ready / 1000:.2f} s after navigation start (median)",
        fontsize=10,
    )
    figure.savefig(path, dpi=110)
