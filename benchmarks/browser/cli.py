"""``python -m vaeport.benchmarks.browser``: the browser benchmark's command line."""

import argparse
import os
from importlib.resources import files
from pathlib import Path

from vaeport.benchmarks import browser
from vaeport.benchmarks.browser.measurements import CALLS_PER_ROUND
from vaeport.benchmarks.browser.plots import plot
from vaeport.benchmarks.browser.report import print_summary
from vaeport.benchmarks.browser.run import run_browser_benchmark
from vaeport.benchmarks.harness import CHROMIUM, bounded_number, demo_process, write_results
from vaeport.benchmarks.machine import describe_machine
from vaeport.contract import PRECISIONS
from vaeport.ui.assets import check_ort_dist
from vaeport.ui.errors import OrtWebError

DEFAULT_ORT_WEB = files("vaeport.ui") / "node_modules" / "onnxruntime-web" / "dist"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m vaeport.benchmarks.browser", description=browser.__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--moves",
        type=bounded_number(int, 1),
        default=40,
        help="single slider moves, and single presses on the map, timed per engine (default: %(default)s)",
    )
    parser.add_argument(
        "--clicks", type=bounded_number(int, 1), default=30, help="tile clicks timed per engine (default: %(default)s)"
    )
    parser.add_argument(
        "--seconds",
        type=bounded_number(float, 0.5, 60),
        default=3.0,
        help="length of the fast drag and of the pad stroke (default: %(default)s)",
    )
    parser.add_argument(
        "--loads",
        type=bounded_number(int, 1),
        default=3,
        help="page loads timed until the browser engine is ready (default: %(default)s)",
    )
    parser.add_argument(
        "--rounds",
        type=bounded_number(int, 1),
        default=30,
        help=f"rounds of {CALLS_PER_ROUND} calls per wasm and Python cell (default: %(default)s)",
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=PRECISIONS[0],
        help="graphs that both engines and the single calls run (default: %(default)s)",
    )
    parser.add_argument(
        "--ort-web",
        type=Path,
        default=Path(str(DEFAULT_ORT_WEB)),
        metavar="DIR",
        help="onnxruntime-web's dist/ folder at the pinned version (default: ui/node_modules/onnxruntime-web/dist)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("runs/browser"),
        help="folder for browser.json and browser.png (default: %(default)s)",
    )
    parser.add_argument(
        "--screenshot",
        type=Path,
        default=None,
        metavar="PNG",
        help="also save the page after drawing a 7 with the browser engine ready (such as docs/demo.png)",
    )
    args = parser.parse_args(argv)
    try:
        ort_dist = check_ort_dist(args.ort_web)
    except OrtWebError as error:
        parser.error(str(error))
    if not CHROMIUM.exists():
        parser.error(f"{CHROMIUM} is missing: install Debian's chromium package")
    args.out.mkdir(parents=True, exist_ok=True)
    machine = describe_machine()
    with demo_process("--ort-web", str(ort_dist), "--precision", args.precision, "--device", "cpu") as url:
        results = run_browser_benchmark(
            url,
            ort_dist,
            args.precision,
            args.moves,
            args.clicks,
            args.seconds,
            args.loads,
            args.rounds,
            args.screenshot,
        )
    machine["load_average_end"] = list(os.getloadavg())
    results = {"url": url, "precision": args.precision, "machine": machine, **results}
    write_results(results, args.out, "browser", plot, print_summary)
    if args.screenshot:
        print(f"and the page after drawing a 7 to {args.screenshot}")
