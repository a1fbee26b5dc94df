"""What the benchmarks (and the tests) need around the demo: its server in a process of its own, a
static file server, a throwaway headless Chromium, a stroke to draw, and the benchmarks' shared
command-line pieces.

Chromium is Debian's (``/usr/bin/chromium``), driven through Playwright, which is imported only
when a browser is started.
"""

import argparse
import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
VIEWPORT = {"width": 1280, "height": 1100}
LOOPBACK = "127.0.0.1"
SERVER_START_TIMEOUT_S = 120


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, log) -> None:
    """Return once ``url`` answers 200; raise with the process's output if it exits or never answers."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"{process.args[:4]} exited with code {process.returncode}:\n{log.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise RuntimeError(f"nothing answered at {url} within {SERVER_START_TIMEOUT_S} s")


@contextlib.contextmanager
def server_process(command: list[str], url: str):
    """Run ``command`` (a server that will answer at ``url``) for the length of a ``with`` block."""
    with tempfile.TemporaryFile(mode="w+") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_up(url, process, log)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def demo_process(*options: str):
    """``vaeport demo`` with ``options`` in a child process on a free loopback port; yields its URL."""
    port = free_port()
    command = [sys.executable, "-m", "vaeport", "demo", "--host", LOOPBACK, "--port", str(port), *options]
    with server_process(command, f"http://{LOOPBACK}:{port}/") as url:
        yield url


@contextlib.contextmanager
def static_server(folder: Path):
    """A static file server on ``folder`` (``static_host``: it sends a site's precompressed copies to
    browsers that accept them), on a free loopback port; yields its URL."""
    port = free_port()
    command = [sys.executable, "-m", "vaeport.benchmarks.static_host", str(folder), str(port)]
    with server_process(command, f"http://{LOOPBACK}:{port}/") as url:
        yield url


def cache_off(page):
    """A CDP session on ``page`` (a Playwright page) with its HTTP cache off, as on a first visit."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    return cdp


def throttle(page, bytes_per_s: float, latency_ms: float) -> None:
    """Chromium's network throttling on ``page``: downloads at ``bytes_per_s``, ``latency_ms`` added to
    every round trip, and the HTTP cache off, as on a first visit over a slow link."""
    cdp = cache_off(page)
    conditions = {"offline": False, "latency": latency_ms, "downloadThroughput": bytes_per_s, "uploadThroughput": -1}
    cdp.send("Network.emulateNetworkConditions", conditions)


@contextlib.contextmanager
def chromium(executable: Path = CHROMIUM):
    """A fresh headless Chromium with a throwaway profile, as a Playwright browser context."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="vaeport-chromium-") as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(executable), args=list(CHROMIUM_FLAGS), headless=True, viewport=VIEWPORT
        )
        try:
            yield context
        finally:
            context.close()


def seven_stroke(points: int) -> list[tuple[float, float]]:
    """Pad positions along a hand-drawn 7: the top bar, then the diagonal."""
    path = []
    for t in np.linspace(0.0, 1.0, points):
        if t < 0.4:
            path.append((0.25 + 0.5 * t / 0.4, 0.2))
        else:
            down = (t - 0.4) / 0.6
            path.append((0.75 - 0.35 * down, 0.2 + 0.6 * down))
    return path


# --- the benchmarks' command lines --------------------------------------------------------


def bounded_number(kind, low: float, high: float | None = None):
    """An argparse type: a ``kind`` number of at least ``low`` (and at most ``high``)."""
    noun = "a whole number" if kind is int else "a number"
    wanted = f"{noun} from {low} to {high}" if high is not None else f"{noun} of at least {low}"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text}")
        return value

    return parse


def write_results(results: dict, out: Path, name: str, plot, print_summary) -> None:
    """``name``.json and the plot ``name``.png into ``out``, then the printed summary."""
    (out / f"{name}.json").write_text(json.dumps(results, indent=1))
    plot(results, out / f"{name}.png")
    print_summary(results)
    print(f"written to {out}/{name}.json and {out}/{name}.png")
