"""Load test of the demo's API: concurrent clients against one server, on loopback only.

    python -m vaeport.benchmarks.load [--clients 20] [--duration 60] [--out runs/load]

Starts ``vaeport demo`` in its own process on a free loopback port (or uses ``--url``, which
must be a loopback address). Each client is a thread with its own keep-alive connection that
repeats what a scripted user of the API would: ``/sample`` a digit, ``/decode`` its latent
values ``DECODES_PER_CYCLE`` times, then ``/encode`` the decoded image. Clients speak
Gradio's REST protocol (POST ``/gradio_api/call/NAME``, then GET the result), the one behind
every Gradio client; ``gradio_client`` itself polls for results every 50 ms, which would
measure the client rather than the server. A call's latency includes uploading its input
image and downloading its result image. Writes ``load.json`` and ``load.png`` to ``--out``
and prints a summary. Bar: no errors.

The clients run on the same machine as the server, so on a small machine they compete with
it for the CPU: the latencies are an upper bound of what remote clients would see.
"""

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np
from matplotlib.figure import Figure
from tqdm import tqdm

from vaeport.benchmarks.machine import describe_machine

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
MAX_CLIENTS = 64
MAX_DURATION_S = 600
DECODES_PER_CYCLE = 8
SERVER_START_TIMEOUT_S = 120
REQUEST_TIMEOUT_S = 60
ENDPOINTS = ("/sample", "/decode", "/encode")


@contextlib.contextmanager
def demo_server(device: str = "auto"):
    """``vaeport demo`` in a child process on a free loopback port; yields its URL and stops it afterwards."""
    from vaeport.ui.app import DEFAULT_HOST, free_port

    port = free_port()
    url = f"http://{DEFAULT_HOST}:{port}/"
    command = [sys.executable, "-m", "vaeport", "demo", "--host", DEFAULT_HOST, "--port", str(port), "--device", device]
    with tempfile.TemporaryFile(mode="w+") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_until_up(url, server, log)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_until_up(url: str, server: subprocess.Popen, log) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"the demo server exited with code {server.returncode}:\n{log.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise RuntimeError(f"the demo server did not answer at {url} within {SERVER_START_TIMEOUT_S} s")


def check_loopback(url: str) -> str:
    """``url`` if its host is a loopback address: the load test never leaves this machine."""
    host = urlsplit(url).hostname
    if host not in LOOPBACK_HOSTS:
        raise SystemExit(f"--url must point at this machine ({', '.join(LOOPBACK_HOSTS)}); got host {host!r}")
    return url


class ApiClient:
    """The demo's named endpoints over Gradio's REST protocol, on one keep-alive connection."""

    def __init__(self, url: str):
        self.http = httpx.Client(base_url=url.rstrip("/") + "/gradio_api", timeout=REQUEST_TIMEOUT_S)

    def call(self, name: str, *data) -> list:
        """The outputs of endpoint ``/name`` for inputs ``data``; an ``ApiError`` if it answers with an error."""
        posted = self.http.post(f"/call/{name}", json={"data": list(data)})
        posted.raise_for_status()
        answer = self.http.get(f"/call/{name}/{posted.json()['event_id']}")
        answer.raise_for_status()
        event, payload = _last_event(answer.text)
        if event != "complete":
            raise ApiError(f"{name} answered {event}: {payload}")
        return json.loads(payload)

    def download(self, file_data: dict) -> bytes:
        response = self.http.get(file_data["url"])
        response.raise_for_status()
        return response.content

    def upload(self, content: bytes, name: str = "digit.png") -> dict:
        """Upload a file for an endpoint's input; its reference to pass to ``call``."""
        response = self.http.post("/upload", files={"files": (name, content, "image/png")})
        response.raise_for_status()
        return {"path": response.json()[0], "meta": {"_type": "gradio.FileData"}}


class ApiError(RuntimeError):
    """An endpoint answered with an error event."""


def _last_event(stream: str) -> tuple[str, str]:
    """The name and data of the last event in a server-sent event stream."""
    event = data = ""
    for line in stream.splitlines():
        if line.startswith("event:"):
            event = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data = line.removeprefix("data:").strip()
    return event, data


class Recorder:
    """Every step's endpoint, start time and latency, and every error, from all client threads."""

    def __init__(self, start_time: float):
        self.start_time = start_time
        self._lock = threading.Lock()
        self.calls: list[tuple[str, float, float]] = []  # (endpoint, start offset s, latency s)
        self.errors: Counter = Counter()

    def error(self, where: str, error: Exception) -> None:
        with self._lock:
            self.errors[f"{where}: {type(error).__name__}: {error}"] += 1

    def step(self, endpoint: str, work):
        """Time ``work()`` as one call of ``endpoint``; its result, or None after recording its error."""
        started = time.perf_counter()
        try:
            result = work()
        except Exception as error:  # every failure counts against the bar and is reported
            self.error(endpoint, error)
            return None
        latency = time.perf_counter() - started
        with self._lock:
            self.calls.append((endpoint, started - self.start_time, latency))
        return result


def _client_loop(url: str, index: int, deadline: float, recorder: Recorder) -> None:
    """One client: sample, decode the sample's values a few times, encode the decoded image; until the deadline."""
    client = ApiClient(url)

    def sample(digit):
        *values, image = client.call("sample", digit, None)
        return values, client.download(image)

    def decode(values):
        return client.download(client.call("decode", *values)[0])

    def encode(png):
        return client.call("encode", client.upload(png))

    digit = index % 10
    with client.http:
        while time.perf_counter() < deadline:
            sampled = recorder.step("/sample", lambda: sample(digit))
            digit = (digit + 1) % 10
            if sampled is None:
                continue
            values, png = sampled
            for _ in range(DECODES_PER_CYCLE):
                if time.perf_counter() >= deadline:
                    return
                png = recorder.step("/decode", lambda: decode(values)) or png
            recorder.step("/encode", lambda: encode(png))


def run_load(url: str, clients: int, duration_s: float) -> dict:
    """Drive ``url`` with ``clients`` concurrent clients for ``duration_s`` seconds; the results as a dict."""
    start_time = time.perf_counter()
    recorder = Recorder(start_time)
    deadline = start_time + duration_s
    threads = [
        threading.Thread(target=_client_loop, args=(url, index, deadline, recorder), daemon=True)
        for index in range(clients)
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
    return _results(recorder, clients, duration_s, elapsed)


def _summary(latencies_s: list[float], elapsed_s: float) -> dict:
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
        endpoint: _summary([latency for name, _, latency in recorder.calls if name == endpoint], elapsed_s)
        for endpoint in ENDPOINTS
    }
    errors = sum(recorder.errors.values())
    return {
        "clients": clients,
        "duration_s": duration_s,
        "elapsed_s": elapsed_s,
        "all": _summary([latency for _, _, latency in recorder.calls], elapsed_s),
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
    over_time.set(xlabel="seconds into the run", ylabel="latency (ms)", yscale="log",
                  title=f"{results['clients']} concurrent clients, {results['errors']} errors")
    over_time.legend(markerscale=4)
    spread.set(xlabel="latency (ms)", ylabel="calls", title="distribution")
    figure.savefig(path, dpi=110)


def print_summary(results: dict) -> None:
    print(f"{results['clients']} clients for {results['elapsed_s']:.0f} s: {results['all'].get('calls', 0)} calls, "
          f"{results['errors']} errors (bar: none): {'met' if results['bar']['met'] else 'NOT MET'}")
    for endpoint, row in [("all", results["all"]), *results["endpoints"].items()]:
        if row["calls"]:
            print(f"  {endpoint:8} {row['calls']:6} calls  {row['calls_per_s']:6.1f}/s  p50 {row['p50_ms']:7.1f} ms  "
                  f"p90 {row['p90_ms']:7.1f} ms  p99 {row['p99_ms']:7.1f} ms")
    for message, count in results["error_messages"].items():
        print(f"  error x{count}: {message}")


def save(results: dict, out_dir: Path, name: str, plot_to, summarise) -> None:
    """Write ``name``.json and the plot ``name``.png to ``out_dir``, then print the summary."""
    (out_dir / f"{name}.json").write_text(json.dumps(results, indent=1))
    plot_to(results, out_dir / f"{name}.png")
    summarise(results)
    print(f"written to {out_dir}/{name}.json and {out_dir}/{name}.png")


def _bounded(kind, low, high):
    def parse(text: str):
        value = kind(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected a value from {low} to {high}, got {text}")
        return value

    return parse


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m vaeport.benchmarks.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=_bounded(int, 1, MAX_CLIENTS), default=20, help="concurrent clients (default: %(default)s)")
    parser.add_argument("--duration", type=_bounded(float, 1, MAX_DURATION_S), default=60.0, help="seconds of load (default: %(default)s)")
    parser.add_argument("--url", default=None, help="a demo already running on this machine (default: start one)")
    parser.add_argument("--device", default="auto", help="--device of the demo this starts (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("runs/load"), help="folder for load.json and load.png (default: %(default)s)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        url = check_loopback(args.url) if args.url else stack.enter_context(demo_server(args.device))
        machine = describe_machine()
        results = run_load(url, args.clients, args.duration)
    save({"url": url, "machine": machine, **results}, args.out, "load", plot, print_summary)


if __name__ == "__main__":
    main()
