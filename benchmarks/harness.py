"""Driving the demo from outside, for the benchmarks and the tests: the demo server in a process of
its own, a throwaway headless Chromium, and a driver for one open demo page.

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
    """Python's plain static file server on ``folder``, on a free loopback port; yields its URL."""
    port = free_port()
    command = [sys.executable, "-m", "http.server", str(port), "--bind", LOOPBACK, "--directory", str(folder)]
    with server_process(command, f"http://{LOOPBACK}:{port}/") as url:
        yield url


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


class DemoPage:
    """One open demo page, what it shows and what a user does on it.

    ``requests`` lists every request the page made, as (method, URL), so a caller can count what
    an action sent to the server, or check that nothing left the page's origin.
    """

    ROOT = "[data-engine]"

    def __init__(self, page):
        self.page = page
        self.errors: list[str] = []
        self.requests: list[tuple[str, str]] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("request", lambda request: self.requests.append((request.method, request.url)))

    @classmethod
    def open(cls, context, url: str, engine: str | None = "browser", timeout_s: float = 60, before=None) -> "DemoPage":
        """Open ``url`` and wait until the page is built and, unless ``engine`` is None, runs on that engine.

        ``before(page)``, when given, runs before the page loads: to add an init script or a route.
        """
        demo = cls(context.new_page())
        if before:
            before(demo.page)
        demo.page.goto(url)
        demo.page.wait_for_selector("#digit canvas", timeout=timeout_s * 1000)
        if engine is not None:
            demo.wait_for_engine(engine, timeout_s)
        return demo

    def wait_for_engine(self, engine: str, timeout_s: float = 60) -> None:
        self.page.wait_for_function(
            "engine => document.querySelector('[data-engine]')?.dataset.engine === engine",
            arg=engine,
            timeout=timeout_s * 1000,
        )

    # --- what the page shows ------------------------------------------------------------

    def engine(self) -> str:
        return self.page.get_attribute(self.ROOT, "data-engine")

    def status(self) -> str:
        return self.page.text_content(".status")

    def slider_values(self) -> list[float]:
        return self.page.eval_on_selector_all(
            ".latent input[type=range]", "sliders => sliders.map(s => s.valueAsNumber)"
        )

    def server_calls(self, since: int = 0) -> int:
        """How many requests from request ``since`` on went to the server engine (Gradio's server functions)."""
        return sum(method == "POST" and "component_server" in url for method, url in self.requests[since:])

    def paints(self) -> int:
        """How many digits the page has painted so far."""
        return int(self.page.get_attribute("#digit", "data-paints") or 0)

    def encodes(self) -> int:
        """How many drawings the page has encoded so far."""
        return int(self.page.get_attribute("#pad", "data-encodes") or 0)

    def digit_pixels(self) -> np.ndarray:
        return self._canvas_pixels("#digit canvas")

    def seen_pixels(self) -> np.ndarray | None:
        """What the encoder sees, as painted under the pad; None while the pad is empty."""
        if self.page.is_visible(".encoder-view.empty"):
            return None
        return self._canvas_pixels(".encoder-view canvas")

    def band_shown(self) -> list[bool]:
        """Whether each slider shows a posterior band."""
        return self.page.eval_on_selector_all(".latent .band", "bands => bands.map(b => !b.hidden)")

    def pad_is_blank(self) -> bool:
        return self.page.eval_on_selector(
            ".pad-canvas",
            "c => c.getContext('2d').getImageData(0, 0, c.width, c.height).data.every((v, i) => i % 4 === 3 || v === 0)",
        )

    def _canvas_pixels(self, selector: str) -> np.ndarray:
        """A canvas's pixels, uint8 ``[height, width]`` (its red channel; the images are grey)."""
        height, width, rgba = self.page.eval_on_selector(
            selector,
            "c => [c.height, c.width, Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)]",
        )
        return np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[..., 0]

    # --- what a user does ---------------------------------------------------------------

    def slider_track(self, index: int):
        """A function from a fraction of slider ``index``'s track to the page position there."""
        box = self.page.locator(".latent input[type=range]").nth(index).bounding_box()
        return lambda fraction: (box["x"] + box["width"] * fraction, box["y"] + box["height"] / 2)

    def pad_area(self):
        """A function from pad fractions (across, down) to the page position there."""
        box = self.page.locator(".pad-canvas").bounding_box()
        return lambda u, v: (box["x"] + box["width"] * u, box["y"] + box["height"] * v)

    def press(self, point: tuple[float, float]) -> None:
        self.page.mouse.move(*point)
        self.page.mouse.down()

    def move(self, point: tuple[float, float]) -> None:
        self.page.mouse.move(*point)

    def release(self) -> None:
        self.page.mouse.up()

    def click_tile(self, digit: int) -> None:
        self.page.click(f'.tile[data-digit="{digit}"]')

    def clear_pad(self) -> None:
        self.page.click(".pad-clear")

    def click(self, selector: str) -> None:
        self.page.click(selector)


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
