"""Browser benchmark of the demo in real headless Chromium, and the page driver it shares with the tests.

    python -m vaeport.benchmarks.browser [--moves 40] [--clicks 30] [--stroke-seconds 3] [--out runs/browser]
                                         [--screenshot docs/demo.png]

Starts ``vaeport demo`` in its own process on a free loopback port and opens the page in
Debian's Chromium (``/usr/bin/chromium``) through Playwright, with a throwaway profile.
Every time is taken inside the page with ``performance.now()``, so Playwright's own
round trips are not counted:

- slider input to rendered digit: from the slider's ``input`` event to the first animation
  frame after the new digit was put in the page, one move at a time (median and p90), and
  to the moment it was put there. Chromium delivers pointer input and paints once per
  frame, so the times to a shown digit come in steps of about 16.7 ms;
- digits shown per second while a slider moves every frame (a fast drag), and
  reconstructions shown per second while a stroke is drawn on the pad, before the pen lifts;
- tile click to sliders set: from the click to the first frame in which the sliders moved.

Writes ``browser.json`` and ``browser.png`` to ``--out`` and prints a summary; with
``--screenshot``, also a picture of the page after drawing a 7.
Bar: slider to digit median <= 50 ms.
"""

import argparse
import contextlib
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from tqdm import tqdm

from vaeport.benchmarks.load import demo_server, save
from vaeport.benchmarks.machine import describe_machine

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
SLIDER_BAR_MS = 50.0
WARM_UP_MOVES = 5
FRAME_S = 1 / 60  # the pointer path of a stroke has one point per frame at 60 Hz

# Timestamps the page records for the benchmark: slider inputs, new digits put in the page, the
# frame after each, tile clicks and the frame in which the sliders first moved after each click.
TIMING_JS = """
() => {
  const marks = {input: [], updated: [], shown: [], click: [], set: []};
  const sliders = () => Array.from(document.querySelectorAll('.latent input[type=range]'), s => s.value).join();
  const digit = () => document.querySelector('#digit canvas').dataset.pixels;
  let last = digit();
  document.addEventListener('input', (e) => {
    if (e.target.type === 'range') marks.input.push(performance.now());
  }, true);
  new MutationObserver(() => {
    if (digit() === last) return;
    last = digit();
    marks.updated.push(performance.now());
    requestAnimationFrame(() => marks.shown.push(performance.now()));
  }).observe(document.querySelector('#digit'), {subtree: true, childList: true, attributes: true});
  document.addEventListener('click', (e) => {
    if (!e.target.closest('.tile')) return;
    const start = performance.now();
    const before = sliders();
    marks.click.push(start);
    const check = () => sliders() !== before ? marks.set.push(performance.now()) : requestAnimationFrame(check);
    requestAnimationFrame(check);
  }, true);
  window.vaeportMarks = marks;
}
"""


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


class DemoPage:
    """One open demo page, and what a user does on it."""

    def __init__(self, page):
        self.page = page
        self.errors: list[str] = []
        self.server_calls = 0  # events the page has sent to the server
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("request", self._count_call)

    def _count_call(self, request) -> None:
        if request.method == "POST" and request.url.endswith(("/run/predict", "/queue/join")):
            self.server_calls += 1

    @classmethod
    def open(cls, context, url: str) -> "DemoPage":
        demo = cls(context.new_page())
        demo.page.goto(url)
        demo.page.wait_for_selector("#digit canvas")
        demo.page.wait_for_selector(".latent input[type=range]")
        demo.page.wait_for_selector(".tile img")
        return demo

    # --- what the page shows ------------------------------------------------------------

    def slider_values(self) -> list[float]:
        return self.page.eval_on_selector_all(".latent input[type=range]", "sliders => sliders.map(s => Number(s.value))")

    def digit_key(self) -> str:
        """The grey bytes the digit was painted from: a new value for every new digit."""
        return self.page.get_attribute("#digit canvas", "data-pixels")

    def digit_pixels(self) -> np.ndarray:
        """The digit as painted on its canvas, uint8 ``[28, 28]`` (its red channel; it is grey)."""
        height, width, rgba = self.page.eval_on_selector(
            "#digit canvas",
            "c => [c.height, c.width, Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)]",
        )
        return np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[..., 0]

    def encoder_view_uri(self) -> str | None:
        view = self.page.query_selector("#encoder-view img")
        return view.get_attribute("src") if view else None

    def pad_is_blank(self) -> bool:
        return self.page.eval_on_selector(
            ".pad-canvas",
            "c => c.getContext('2d').getImageData(0, 0, c.width, c.height).data.every((v, i) => i % 4 === 3 || v === 0)",
        )

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


# --- the benchmark --------------------------------------------------------------------


def _marks(demo: DemoPage) -> dict:
    return demo.page.evaluate("window.vaeportMarks")


def measure_slider_moves(demo: DemoPage, moves: int) -> tuple[list[float], list[float]]:
    """Milliseconds from each single slider step to its new digit put in the page, and to the frame showing it.

    The first ``WARM_UP_MOVES`` moves are not timed: they pay for first calls on both sides.
    """
    updated, shown = [], []
    track = demo.slider_track(3)
    demo.press(track(0.5))
    time.sleep(0.5)  # the press may have moved the slider too: let that digit come first
    for move in tqdm(range(-WARM_UP_MOVES, moves), desc="slider moves"):
        before = _marks(demo)
        demo.move(track(0.2 + 0.6 * ((move * 7) % 29) / 28))  # a new position every time, back and forth
        demo.page.wait_for_function("n => window.vaeportMarks.shown.length > n", arg=len(before["shown"]))
        after = _marks(demo)
        moved = after["input"][len(before["input"])]
        if move >= 0:
            updated.append(after["updated"][-1] - moved)
            shown.append(after["shown"][-1] - moved)
        time.sleep(0.05)
    demo.release()
    return updated, shown


# Moves slider ``index`` once every frame for ``seconds`` from inside the page, as a fast drag
# does: the range's value changes and it fires ``input``, the event Gradio's slider listens to.
# (Playwright's own pointer moves take a round trip each, too slow to stand for a drag.)
DRAG_JS = """
([index, seconds]) => new Promise((done) => {
  const range = document.querySelectorAll('.latent input[type=range]')[index];
  const low = Number(range.min), high = Number(range.max);
  const start = performance.now();
  let frame = 0;
  const step = () => {
    if (performance.now() - start >= seconds * 1000) return done(performance.now() - start);
    range.value = String(low + (high - low) * (0.2 + 0.6 * Math.abs(Math.sin(frame / 40))));
    range.dispatchEvent(new Event('input', {bubbles: true}));
    frame += 1;
    requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
})
"""


def measure_drag(demo: DemoPage, seconds: float) -> dict:
    """Digits shown per second while a slider moves every frame, as in a fast drag."""
    before = _marks(demo)
    elapsed_ms = demo.page.evaluate(DRAG_JS, [5, seconds])
    after = _marks(demo)
    shown = len(after["shown"]) - len(before["shown"])
    return {
        "seconds": elapsed_ms / 1000,
        "input_events": len(after["input"]) - len(before["input"]),
        "digits_shown": shown,
        "digits_per_s": shown / (elapsed_ms / 1000),
    }


def measure_stroke(demo: DemoPage, seconds: float) -> dict:
    """Reconstructions shown per second while one stroke is drawn, before the pen lifts."""
    pad = demo.pad_area()
    path = seven_stroke(round(seconds / FRAME_S))
    before = _marks(demo)
    demo.press(pad(*path[0]))
    started = time.perf_counter()
    for point in path[1:]:
        if time.perf_counter() - started >= seconds:
            break
        demo.move(pad(*point))  # Playwright paces moves to frames
    elapsed = time.perf_counter() - started
    during = len(_marks(demo)["shown"]) - len(before["shown"])
    demo.release()
    demo.clear_pad()
    return {"seconds": elapsed, "updates_during_stroke": during, "updates_per_s": during / elapsed}


def measure_tile_clicks(demo: DemoPage, clicks: int) -> list[float]:
    """Milliseconds from each tile click to the frame in which the sliders moved."""
    for click in tqdm(range(clicks), desc="tile clicks"):
        demo.click_tile(click % 10)
        demo.page.wait_for_function("n => window.vaeportMarks.set.length > n", arg=click)
        time.sleep(0.05)
    marks = _marks(demo)
    return [done - start for start, done in zip(marks["click"], marks["set"])]


def _summary(latencies_ms: list[float]) -> dict:
    p50, p90 = np.percentile(latencies_ms, [50, 90])
    return {
        "count": len(latencies_ms),
        "median_ms": float(p50),
        "p90_ms": float(p90),
        "max_ms": float(max(latencies_ms)),
    }


def screenshot(context, url: str, path: Path) -> None:
    """The whole page after a 7 was drawn on a fresh one, as a PNG (the README's picture)."""
    demo = DemoPage.open(context, url)
    pad = demo.pad_area()
    stroke = seven_stroke(40)
    demo.press(pad(*stroke[0]))
    for point in stroke[1:]:
        demo.move(pad(*point))
    demo.release()
    demo.page.wait_for_selector("#encoder-view img")
    time.sleep(1.0)  # the last pad frame goes out up to PAD_INTERVAL_MS after the pen lifts
    path.parent.mkdir(parents=True, exist_ok=True)
    demo.page.screenshot(path=path, full_page=True)


def run_browser_benchmark(url: str, moves: int, clicks: int, stroke_seconds: float, screenshot_to: Path | None) -> dict:
    with chromium() as context:
        demo = DemoPage.open(context, url)
        demo.page.evaluate(TIMING_JS)
        slider_updated, slider = measure_slider_moves(demo, moves)
        drag = measure_drag(demo, stroke_seconds)
        stroke = measure_stroke(demo, stroke_seconds)
        tiles = measure_tile_clicks(demo, clicks)
        if demo.errors:
            raise RuntimeError(f"the page reported errors: {demo.errors}")
        if screenshot_to:
            screenshot(context, url, screenshot_to)
    slider_summary = _summary(slider)
    return {
        "slider_to_digit": {**slider_summary, "samples_ms": slider},
        "slider_to_digit_in_page": {**_summary(slider_updated), "samples_ms": slider_updated},
        "drag": drag,
        "stroke": stroke,
        "tile_to_sliders": {**_summary(tiles), "samples_ms": tiles},
        "bar": {"slider_to_digit_median_ms": SLIDER_BAR_MS, "met": slider_summary["median_ms"] <= SLIDER_BAR_MS},
    }


def plot(results: dict, path: Path) -> None:
    figure = Figure(figsize=(11, 3.8), layout="constrained")
    latency, rates = figure.subplots(1, 2, width_ratios=(2, 1))
    curves = (("slider_to_digit", "slider input → digit shown"), ("tile_to_sliders", "tile click → sliders set"))
    for colour, (key, label) in enumerate(curves):
        samples = np.sort(results[key]["samples_ms"])
        latency.step(samples, np.arange(1, len(samples) + 1) / len(samples), where="post", color=f"C{colour}",
                     label=f"{label} (median {results[key]['median_ms']:.0f} ms)")
    latency.axvline(SLIDER_BAR_MS, color="grey", linestyle="--", linewidth=1, label=f"bar: {SLIDER_BAR_MS:.0f} ms median")
    latency.set(xlabel="milliseconds, in the page", ylabel="fraction of events", title="Latency in headless Chromium")
    latency.set_xlim(left=0)
    latency.legend(loc="upper left")
    names = ["digits per s\nwhile dragging", "reconstructions per s\nwhile drawing"]
    values = [results["drag"]["digits_per_s"], results["stroke"]["updates_per_s"]]
    rates.bar(names, values, color=["C2", "C3"])
    for x, value in enumerate(values):
        rates.annotate(f"{value:.1f}", (x, value), ha="center", va="bottom")
    rates.set(title="Live updates", ylabel="per second")
    figure.savefig(path, dpi=110)


def print_summary(results: dict) -> None:
    slider, tiles = results["slider_to_digit"], results["tile_to_sliders"]
    verdict = "met" if results["bar"]["met"] else "NOT MET"
    print(f"slider input -> digit shown: median {slider['median_ms']:.1f} ms, p90 {slider['p90_ms']:.1f} ms "
          f"over {slider['count']} moves (bar: median <= {SLIDER_BAR_MS:.0f} ms: {verdict}); "
          f"to the digit put in the page: median {results['slider_to_digit_in_page']['median_ms']:.1f} ms")
    print(f"dragging without pause: {results['drag']['digits_per_s']:.1f} digits shown per second "
          f"({results['drag']['input_events']} input events in {results['drag']['seconds']:.1f} s)")
    print(f"drawing: {results['stroke']['updates_per_s']:.1f} reconstructions shown per second during a "
          f"{results['stroke']['seconds']:.1f} s stroke")
    print(f"tile click -> sliders set: median {tiles['median_ms']:.1f} ms, p90 {tiles['p90_ms']:.1f} ms over {tiles['count']} clicks")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m vaeport.benchmarks.browser", description=__doc__.split("\n\n")[0])
    parser.add_argument("--moves", type=int, default=40, help="single slider moves timed (default: %(default)s, at least 30)")
    parser.add_argument("--clicks", type=int, default=30, help="tile clicks timed (default: %(default)s)")
    parser.add_argument("--stroke-seconds", type=float, default=3.0, help="length of the drag and of the stroke (default: %(default)s)")
    parser.add_argument("--device", default="auto", help="--device of the demo it starts (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("runs/browser"), help="folder for browser.json and browser.png (default: %(default)s)")
    parser.add_argument("--screenshot", type=Path, default=None, help="also save a picture of the page after drawing a 7 (such as docs/demo.png)")
    args = parser.parse_args(argv)
    if args.moves < 30 or args.clicks < 1 or not 0.5 <= args.stroke_seconds <= 60:
        parser.error("expected --moves >= 30, --clicks >= 1 and --stroke-seconds from 0.5 to 60")
    if not CHROMIUM.exists():
        parser.error(f"{CHROMIUM} is missing: install Debian's chromium package")
    args.out.mkdir(parents=True, exist_ok=True)
    machine = describe_machine()
    with demo_server(args.device) as url:
        results = run_browser_benchmark(url, args.moves, args.clicks, args.stroke_seconds, args.screenshot)
    machine["load_average_end"] = list(os.getloadavg())
    save({"url": url, "machine": machine, **results}, args.out, "browser", plot, print_summary)


if __name__ == "__main__":
    main()
