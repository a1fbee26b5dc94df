"""Plots against batch size, on log scales: one panel per part and thread count, one line per engine."""

from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatter, NullLocator

from vaeport.benchmarks.engines import BASELINE, ENGINES

PLOTS = (  # (file, row key, y label)
    ("latency.png", "p50_us", "µs per call (median, bar up to p99)"),
    ("throughput.png", "images_per_s", "images per second"),
    ("speedup.png", "speedup_vs_torch", f"speed-up over {BASELINE}"),
)


def write_plots(rows: list[dict], out_dir: Path) -> None:
    for file_name, key, label in PLOTS:
        _plot(rows, key, label).savefig(out_dir / file_name, dpi=110)


def _plot(rows: list[dict], key: str, label: str) -> Figure:
    parts = list(dict.fromkeys(r["part"] for r in rows))
    thread_counts = sorted({r["threads"] for r in rows})
    batches_measured = sorted({r["batch"] for r in rows})
    figure = Figure(figsize=(max(5.0 * len(parts), 8.0), 3.6 * len(thread_counts) + 0.8), layout="constrained")
    axes = figure.subplots(len(thread_counts), len(parts), squeeze=False, sharex=True)
    colours = {name: f"C{index}" for index, name in enumerate(ENGINES)}
    for row_axes, threads in zip(axes, thread_counts):
        for ax, part in zip(row_axes, parts):
            for engine in ENGINES:
                cells = sorted(
                    (r for r in rows if (r["engine"], r["part"], r["threads"]) == (engine, part, threads)),
                    key=lambda r: r["batch"],
                )
                points = [(r["batch"], r[key], r["p99_us"]) for r in cells if r[key] is not None]
                if not points:
                    continue
                batches, values, p99 = zip(*points)
                upper = [high - value for value, high in zip(values, p99)] if key == "p50_us" else None
                ax.errorbar(
                    batches,
                    values,
                    yerr=upper and [[0] * len(upper), upper],
                    marker="o",
                    markersize=3,
                    capsize=2,
                    linewidth=1.2,
                    color=colours[engine],
                    label=engine,
                )
            if key == "speedup_vs_torch":
                ax.axhline(1.0, color="grey", linewidth=0.8)
            ax.set(xscale="log", yscale="log", title=f"{part}, {threads} thread{'s' * (threads > 1)}")
            ax.set_xticks(batches_measured, [str(batch) for batch in batches_measured], fontsize=8)
            ax.xaxis.set_minor_locator(NullLocator())
            ax.yaxis.set_major_formatter(LogFormatter())
            ax.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(1, 0.5)))
            ax.grid(True, which="both", alpha=0.3)
        row_axes[0].set_ylabel(label)
    for ax in axes[-1]:
        ax.set_xlabel("batch size")
    legend = {label: handle for ax in axes.flat for handle, label in zip(*ax.get_legend_handles_labels())}
    figure.legend(legend.values(), legend.keys(), loc="outside lower center", ncols=min(len(legend), 4))
    return figure
