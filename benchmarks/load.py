"""Load test of the demo's API: concurrent ``gradio_client`` clients against one server, on loopback only.

    python -m vaeport.benchmarks.load [--clients 20] [--duration 60] [--decodes 8] [--out runs/load]
                                      [--url http://127.0.0.1:PORT/] [--device auto]

Starts ``vaeport demo --server-only`` in its own process on a free loopback port (or uses
``--url``, which must be a loopback address). Each client is a thread with its own
``gradio_client.Client`` that repeats what a scripted user of the API would: ``/sample`` a digit
(a fresh seed each time), ``/decode`` its latent values ``--decodes`` times, then ``/encode`` the
last decoded PNG, uploaded with ``gradio_client.handle_file``. A call's latency is what the
caller of ``Client.predict`` waits: the upload of its input image, the call, and the download
of its result image. When the time is up, each client finishes the cycle it is in, so every
client calls every endpoint at least once; the rate is counted over the whole run. Writes
``load.json`` and ``load.png`` to ``--out`` and prints a summary. Bar: no errors.

The clients run with ``ssl_verify=False``: on loopback over plain HTTP there is no certificate to
check, and ``gradio_client`` would otherwise load the CA bundle for each of the HTTP clients it
opens per request, taking CPU the server needs. What the clients still use is reported as CPU ms
per call. ``gradio_client`` waits for a result by polling, which sets a floor under each call's
latency at low load (docs/experiments.md has what was measured).

The clients run on the same machine as the server, so on a small machine they compete with it
for the CPU: the latencies are an upper bound of what remote clients would see.
"""

import argparse
import contextlib
import math
import os
import tempfile
import threading
import time
from collections import Counter
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from tqdm import tqdm

from vaeport.benchmarks.harness import bounded_number, demo_process, write_results
from vaeport.benchmarks.machine import describe_machine
from vaeport.contract import DIGITS

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
MAX_CLIENTS = 64
MAX_DURATION_S = 600
MAX_DECODES = 100
DECODES_PER_CYCLE = 8
REQUEST_TIMEOUT_S = 60
ENDPOINTS = ("/sample", "/decode", "/encode")


def check_loopback(url: str) -> str:
    """``url`` if its host is a loopback address, else a ValueError: the load test never leaves this machine."""
    host = urlsplit(url).hostname
    if host not in LOOPBACK_HOSTS:
        raise ValueError(f"--url must point at this machine ({', '.join(LOOPBACK_HOSTS)}); got host {host!r}")
    return url


class Recorder:
    """Every call's endpoint, start time and latency, and every error, from all client threads."""

    def __init__(self, start_time: float):
        self.start_time = start_time
        self._lock = threading.Lock()
        self.calls: list[tuple[str, float, float]] = []  # (endpoint, start offset s, latency s)
        self.errors: Counter = Counter()

    def call(self, client, endpoint: str, *args):
        """``endpoint``'s outputs for ``args`` through ``client``, timed; None after recording its error."""
        started = time.perf_counter()
        try:
            result = client.submit(*args, api_name=endpoint).result(timeout=REQUEST_TIMEOUT_S)
        except Exception as error:  # every failure counts against the bar and is reported
            with self._lock:
                self.errors[f"{endpoint}: {type(error).__name__}: {error}"] += 1
            return None
        latency = time.perf_counter() - started
        with self._lock:
            self.calls.append((endpoint, started - self.start_time, latency))
        return result


def _client_loop(client, index: int, deadline: float, decodes: int, recorder: Recorder) -> None:
    """One client: sample, decode the sample's values ``decodes`` times, encode the last image; again until the
    deadline, finishing the cycle it is in."""
    from gradio_client import handle_file

    turn = index
    while time.perf_counter() < deadline:
        sampled = recorder.call(client, "/sample", DIGITS[turn % len(DIGITS)], None)
        turn += 1
        if sampled is None:
            continue
        *values, png = sampled
        for _ in range(decodes):
            png = recorder.call(client, "/decode", *values) or png
        recorder.call(client, "/encode", handle_file(png))


def run_load(url: str, clients: int, duration_s: float, decodes: int = DECODES_PER_CYCLE) -> dict:
    """Drive ``url`` with ``clients`` concurrent clients for ``duration_s`` seconds; the results as a dict."""
    from gradio_client import Client

    with tempfile.TemporaryDirectory(prefix="vaeport-load-") as downloads:
        connected = [
            Client(url, verbose=False, download_files=downloads, ssl_verify=False)
            for _ in tqdm(range(clients), desc="connecting clients", leave=False)
        ]
        cpu_start = time.process_time()
        start_time = time.perf_counter()
        recorder = Recorder(start_time)
        deadline = start_time + duration_s
        threads = [
            threading.Thread(target=_client_loop, args=(client, index, deadline, decodes, recorder), daemon=True)
            for index, client in enumerate(connected)
        ]
        for thread in threads:
            thread.start()
        with tqdm(total=round(duration_s), unit="s", desc=f"{clients} clients") as bar:
            while time.perf_counter() < deadline:
                time.sleep(min(1.0, max(0.0, deadline - time.perf_counter())))
                bar.update(min(round(time.perf_counter() - start_time), bar.total) - bar.n)
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start_time
        cpu_s = time.process_time() - cpu_start
        for client in connected:
            client.close()
    results = _results(recorder, clients, duration_s, elapsed)
    results["client"] = {
        "gradio_client": metadata.version("gradio_client"),
        "decodes_per_cycle": decodes,
        "ssl_verify": False,
        "cpu_ms_per_call": cpu_s * 1000 / max(len(recorder.calls), 1),
    }
    return results


def call_stats(latencies_s: list[float], elapsed_s: float) -> dict:
    """Calls, calls per second over ``elapsed_s``, and latency percentiles in milliseconds."""
    if not latencies_s:
        return {"calls": 0}
    p50, p90, p99 = np.percentile(np.asarray(latencies_s) * 1000.0, [50, 90, 99])
    return {
        "calls": len(latencies_s),
        "calls_per_s": len(latencies_s) / elapsed_s,
        "p50_ms": float(p50),
        "p90_ms": float(p90),
        "p99_ms": float(p99),
        "max_ms": float(max(latencies_s) * 1000.0),
    }


def _results(recorder: Recorder, clients: int, duration_s: float, elapsed_s: float) -> dict:
    by_endpoint = {
        endpoint: call_stats([latency for name, _, latency in recorder.calls if name == endpoint], elapsed_s)
        for endpoint in ENDPOINTS
    }
    errors = sum(recorder.errors.values())
    return {
        "clients": clients,
        "duration_s": duration_s,
        "elapsed_s": elapsed_s,
        "all": call_stats([latency for _, _, latency in recorder.calls], elapsed_s),
        "endpoints": by_endpoint,
        "errors": errors,
        "error_messages": dict(recorder.errors.most_common(10)),
        "bar": {"errors": 0, "met": errors == 0},
        "calls": [[name, round(start, 4), round(latency, 5)] for name, start, latency in recorder.calls],
    }


def plot(results: dict, path: Path) -> None:
    """Latency of every call over the run, per endpoint, and the latency distribution."""
    figure = Figure(figsize=(11, 4), layout="constrained")
    over_time, spread = figure.subplots(1, 2, width_ratios=(2, 1))
    for colour, endpoint in enumerate(ENDPOINTS):
        calls = [(start, latency * 1000.0) for name, start, latency in results["calls"] if name == endpoint]
        if not calls:
            continue
        starts, latencies = zip(*calls)
        over_time.scatter(starts, latencies, s=3, alpha=0.4, color=f"C{colour}", label=endpoint)
        spread.hist(latencies, bins=60, histtype="step", color=f"C{colour}", label=endpoint)
    over_time.set(
        xlabel="seconds into the run",
        ylabel="latency (ms)",
        yscale="log",
        title=f"{results['clients']} concurrent gradio_client clients, {results['errors']} errors",
    )
    over_time.yaxis.set_major_formatter(FuncFormatter(_tick_label))
    over_time.yaxis.set_minor_formatter(FuncFormatter(_minor_tick_label))
    over_time.legend(markerscale=4)
    spread.set(xlabel="latency (ms)", ylabel="calls", title="distribution")
    figure.suptitle(
        f"{results['machine']['cpu']['model']}, {results['machine']['cpu']['usable_cpus']} cores, "
        f"clients and server on the same machine",
        fontsize=10,
    )
    figure.savefig(path, dpi=110)


def _tick_label(value: float, _position) -> str:
    """A latency tick as a plain number of milliseconds."""
    return f"{value:g}"


def _minor_tick_label(value: float, position) -> str:
    """Minor ticks labelled at 2 and 5 times a power of ten only, so a wide range stays readable."""
    leading = round(value / 10 ** math.floor(math.log10(value)))
    return _tick_label(value, position) if leading in (2, 5) else ""


def print_summary(results: dict) -> None:
    machine, client = results["machine"], results["client"]
    load = ", ".join(f"{value:.2f}" for value in machine["load_average_start"] or [])
    print(
        f"machine: {machine['cpu']['model']}, {machine['cpu']['usable_cpus']} usable CPUs, load average {load} at the start"
    )
    print(
        f"{results['clients']} clients for {results['elapsed_s']:.0f} s: {results['all'].get('calls', 0)} calls, "
        f"{results['errors']} errors (bar: none): {'met' if results['bar']['met'] else 'NOT MET'}"
    )
    for endpoint, row in [("all", results["all"]), *results["endpoints"].items()]:
        if row["calls"]:
            print(
                f"  {endpoint:8} {row['calls']:6} calls  {row['calls_per_s']:6.1f}/s  p50 {row['p50_ms']:7.1f} ms  "
                f"p90 {row['p90_ms']:7.1f} ms  p99 {row['p99_ms']:7.1f} ms"
            )
    print(
        f"  the clients (gradio_client {client['gradio_client']}) used {client['cpu_ms_per_call']:.1f} ms of CPU per call"
    )
    for message, count in results["error_messages"].items():
        print(f"  error x{count}: {message}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m vaeport.benchmarks.load", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--clients",
        type=bounded_number(int, 1, MAX_CLIENTS),
        default=20,
        help="concurrent clients (default: %(default)s)",
    )
    parser.add_argument(
        "--duration",
        type=bounded_number(float, 1, MAX_DURATION_S),
        default=60.0,
        help="seconds of load (default: %(default)s)",
    )
    parser.add_argument(
        "--decodes",
        type=bounded_number(int, 0, MAX_DECODES),
        default=DECODES_PER_CYCLE,
        help="/decode calls between a /sample and an /encode (default: %(default)s)",
    )
    parser.add_argument("--url", default=None, help="a demo already running on this machine (default: start one)")
    parser.add_argument("--device", default="auto", help="--device of the demo this starts (default: %(default)s)")
    parser.add_argument(
        "--out", type=Path, default=Path("runs/load"), help="folder for load.json and load.png (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    if args.url:
        try:
            check_loopback(args.url)
        except ValueError as error:
            parser.error(str(error))
    args.out.mkdir(parents=True, exist_ok=True)
    machine = describe_machine()
    with contextlib.ExitStack() as stack:
        url = args.url or stack.enter_context(demo_process("--server-only", "--device", args.device))
        results = run_load(url, args.clients, args.duration, args.decodes)
    machine["load_average_end"] = list(os.getloadavg())
    results = {"url": url, "machine": machine, **results}
    write_results(results, args.out, "load", plot, print_summary)


if __name__ == "__main__":
    main()
