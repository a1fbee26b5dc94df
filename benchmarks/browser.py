"""Browser benchmark: the demo's browser engine and server engine side by side in headless Chromium.

    python -m vaeport.benchmarks.browser [--moves 40] [--clicks 30] [--seconds 3] [--loads 3] [--rounds 30]
                                         [--precision fp32] [--ort-web DIR] [--out runs/browser]
                                         [--screenshot docs/demo.png]

Starts one ``vaeport demo --ort-web DIR`` (onnxruntime-web from a local copy, nothing from the
internet) on a free loopback port and opens it twice in Debian's Chromium, driven by Playwright:
one page runs the model in the browser (the browser engine), the other has its onnxruntime-web
requests refused, so it falls back to the server as ``--server-only`` pages do (the server
engine). Each measurement runs on one page, then on the other, so both see the same machine.

Every time is taken inside the page with ``performance.now()``, so Playwright's own round trips
are not counted. A script added to the page before it loads records:

- slider input: when the page's ``input`` event is dispatched (a capture listener on the document);
- painted: the page's ``vaeport:painted`` event, whose detail names the engine and its decode time;
- shown: the timestamp of the first animation frame after the paint (a ``requestAnimationFrame``
  requested right at the event; its callback's argument, the frame's start), when the frame
  that holds the new digit goes to the compositor.

Chromium aligns pointer input to frames: the ``input`` event is dispatched at the start of a
frame. The browser engine decodes in that frame's animation-frame callbacks, so its digit goes to
the compositor with the input's own frame, and "shown" is the start of the next frame, under
16.7 ms after the input. A digit painted between two frames (a reply from the server) goes with
the next frame, whose start is its "shown". The same timestamp thus marks the end of the frame
that holds a browser-engine digit and the start of the frame that holds a server-engine one: the
server engine's "shown" times are up to a frame kinder than the browser engine's.

What is measured, per engine:

- slider input to digit painted and to digit shown, median and p90, over single pointer moves
  through Playwright (one move, then wait for its digit), and the share of digits shown at the
  first frame start after their input's frame;
- digits shown per second during a fast drag, driven in the page: an ``input`` event on a
  slider every animation frame (Playwright's pointer moves take a round trip each);
- pad encodes per second during a stroke: Playwright pointer moves along a drawn 7, the
  ``vaeport:encoded`` events counted from pen down to pen up. The page encodes at most once a
  frame, and Playwright waits for each move to be handled before it sends the next: one move a
  frame at best, one every other frame on a busy machine. The pointer moves per second are
  reported beside the encodes, so a rate held down by the driver shows as such;
- tile click to sliders set: from the ``click`` event to the change of the sliders' readouts;
- requests to the server engine during each part (the browser engine should make none).

And once: the time from navigation start until the browser engine is ready (``data-browser``
turns ``ready``), over fresh page loads with the HTTP cache off; and one decode and one encode,
fp32 and int8, in onnxruntime-web (wasm, one thread, through the page's own ``runtime.mjs``)
beside onnxruntime in Python (``VAERuntime``, one thread). A page outside cross-origin isolation
rounds ``performance.now()`` to 0.1 ms, so per-call times are means over rounds of
``CALLS_PER_ROUND`` calls, the rounds of both runtimes interleaved; the figure is their median.

Targets on a 2-core machine: a median of at most 16.7 ms (one frame at 60 Hz) from slider input
to digit shown, and at least 30 pad encodes a second. Each is reported as met or not, per engine,
with what limits it when short. Writes ``browser.json`` and ``browser.png`` to ``--out`` and
prints a summary; with ``--screenshot``, also a picture of the page after drawing a 7 with the
browser engine ready (the README's ``docs/demo.png``).
"""

import argparse
import os
import tempfile
import time
from importlib.resources import files
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from tqdm import tqdm

from vaeport.benchmarks.harness import (
    CHROMIUM,
    DemoPage,
    bounded_number,
    chromium,
    demo_process,
    seven_stroke,
    static_server,
    write_results,
)
from vaeport.benchmarks.machine import describe_machine
from vaeport.contract import PRECISIONS
from vaeport.runtime import VAERuntime
from vaeport.ui.assets import check_ort_dist, write_assets
from vaeport.ui.errors import OrtWebError

FRAME_MS = 1000 / 60
SLIDER_TARGET_MS = FRAME_MS  # one frame at 60 Hz
PAD_TARGET_PER_S = 30.0
ENGINES = ("browser", "server")
WARM_UP_MOVES = 5  # untimed: they pay for first calls on both sides
DRAG_SLIDER = 5
CALLS_PER_ROUND = 50
QUIET_MS = 300  # the page counts as settled after this long without an input, paint or encode
DEFAULT_ORT_WEB = files("vaeport.ui") / "node_modules" / "onnxruntime-web" / "dist"

# Added to every page before it loads; what it records is in window.vaeportTimes.
TIMING_JS = """
(() => {
  const times = {
    inputs: [], paints: [], encodes: [], clicks: [], pad: {down: [], up: [], moves: 0}, built: null, ready: null, last: 0,
  };
  window.vaeportTimes = times;
  const now = () => (times.last = performance.now());
  document.addEventListener('input', (event) => {
    if (event.target.type !== 'range') return;
    const input = {at: now()};
    times.inputs.push(input);
    requestAnimationFrame((frame) => (input.frame = frame));
  }, true);
  document.addEventListener('vaeport:painted', (event) => {
    const paint = {at: now(), engine: event.detail.engine, ms: event.detail.ms};
    times.paints.push(paint);
    requestAnimationFrame((frame) => (paint.shown = frame));
  });
  document.addEventListener('vaeport:encoded', () => times.encodes.push(now()));
  document.addEventListener('pointerdown', (event) => {
    if (event.target.classList?.contains('pad-canvas')) times.pad.down.push(performance.now());
  }, true);
  document.addEventListener('pointermove', (event) => {
    if (event.target.classList?.contains('pad-canvas') && event.buttons) times.pad.moves += 1;
  }, true);
  document.addEventListener('pointerup', (event) => {
    if (event.target.classList?.contains('pad-canvas')) times.pad.up.push(performance.now());
  }, true);
  document.addEventListener('click', (event) => {
    if (!event.target.closest?.('.tile')) return;
    const click = {at: performance.now()};
    times.clicks.push(click);
    const readouts = new MutationObserver(() => {
      click.set = performance.now();
      readouts.disconnect();
    });
    for (const output of document.querySelectorAll('.latent output')) {
      readouts.observe(output, {childList: true, subtree: true, characterData: true});
    }
  }, true);
  new MutationObserver(() => {
    const root = document.querySelector('[data-engine]');
    if (root && times.built === null) times.built = performance.now();
    if (root?.dataset.browser === 'ready' && times.ready === null) times.ready = performance.now();
  }).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-engine', 'data-browser']});
})();
"""

# Moves slider ``index`` once every animation frame for ``seconds``, as a fast drag does: the
# range's value changes and it fires ``input``. Resolves to [start, end] in page time.
DRAG_JS = """
([index, seconds]) => new Promise((done) => {
  const range = document.querySelectorAll('.latent input[type=range]')[index];
  const low = Number(range.min), high = Number(range.max);
  const start = performance.now();
  let frame = 0;
  const step = () => {
    const at = performance.now();
    if (at - start >= seconds * 1000) return done([start, at]);
    range.value = String(low + (high - low) * (0.2 + 0.6 * Math.abs(Math.sin(frame / 40))));
    range.dispatchEvent(new Event('input', {bubbles: true}));
    frame += 1;
    requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
})
"""

# Loads onnxruntime-web and the page's runtime.mjs from one asset folder, and the model of each
# precision from its own; resolves to onnxruntime-web's version.
CALLS_SETUP_JS = """
async ({base, precisions}) => {
  const ort = await import(`${base}${precisions[0]}/onnxruntime-web/ort.wasm.bundle.min.mjs`);
  ort.env.wasm.numThreads = 1;
  const {loadModel} = await import(`${base}${precisions[0]}/vaeport/runtime.mjs`);
  const read = (folder) => async (name) => new Uint8Array(await (await fetch(`${folder}${name}`)).arrayBuffer());
  window.vaeportModels = {};
  for (const precision of precisions) {
    window.vaeportModels[precision] = await loadModel(ort, {read: read(`${base}${precision}/model/`), precision});
  }
  return ort.env.versions.web;
}
"""

# One round: ``calls`` calls one after another; resolves to the mean milliseconds per call.
CALLS_ROUND_JS = """
async ({precision, part, input, calls}) => {
  const model = window.vaeportModels[precision];
  const data = Float32Array.from(input);
  const call = part === 'decode' ? () => model.decode(data) : () => model.encode(data);
  const start = performance.now();
  for (let i = 0; i < calls; i++) await call();
  return (performance.now() - start) / calls;
}
"""


def summarise(samples: list[float]) -> dict:
    """Count, median, p90 and maximum of ``samples`` (numpy's linear percentiles), with the samples."""
    median, p90 = np.percentile(samples, [50, 90])
    return {
        "count": len(samples),
        "median": float(median),
        "p90": float(p90),
        "max": float(max(samples)),
        "samples": list(samples),
    }


def rate(count: int, start_ms: float, end_ms: float) -> float:
    """Events per second: ``count`` events between two page times in milliseconds."""
    return count / ((end_ms - start_ms) / 1000)


# --- one page -----------------------------------------------------------------------------


def open_engine_page(context, url: str, engine: str) -> DemoPage:
    """The demo at ``url`` running on ``engine``, with the timing script in place."""

    def prepare(page):
        page.add_init_script(TIMING_JS)
        if engine == "server":
            page.route("**/onnxruntime-web/**", lambda route: route.abort())

    demo = DemoPage.open(context, url, engine=None, before=prepare)
    _wait_for_browser_engine(demo.page)
    if demo.engine() != engine:
        raise RuntimeError(f"the page runs on the {demo.engine()} engine, not the {engine} engine: {demo.status()}")
    return demo


def _wait_for_browser_engine(page) -> None:
    """Wait until the browser engine is ready or has failed."""
    page.wait_for_function(
        "() => ['ready', 'failed'].includes(document.querySelector('[data-engine]')?.dataset.browser)", timeout=120_000
    )


def _times(demo: DemoPage) -> dict:
    return demo.page.evaluate("window.vaeportTimes")


def settle(demo: DemoPage) -> None:
    """Wait until the page has had no input, paint or encode for ``QUIET_MS``."""
    demo.page.wait_for_function("quiet => performance.now() - window.vaeportTimes.last > quiet", arg=QUIET_MS)


def _check_engine(demo: DemoPage, paints: list[dict], engine: str) -> None:
    """Every digit of a measurement must come from the engine it is filed under."""
    others = {paint["engine"] for paint in paints} - {engine}
    if others or demo.errors:
        raise RuntimeError(
            f"the {engine} engine's page painted with {sorted(others)} or reported errors: {demo.errors}"
        )


def _timed_input(demo: DemoPage, point: tuple[float, float]) -> dict:
    """Move the pressed pointer to ``point`` (one slider input) and wait for its digit; the paint's times after
    the input, in ms."""
    before = _times(demo)
    inputs, paints = len(before["inputs"]), len(before["paints"])
    demo.move(point)
    demo.page.wait_for_function(
        """([inputs, paints]) => {
          const t = window.vaeportTimes;
          return t.inputs.length > inputs && t.inputs[inputs].frame !== undefined
            && t.paints.slice(paints).some((p) => p.at >= t.inputs[inputs].at && p.shown !== undefined);
        }""",
        arg=[inputs, paints],
    )
    after = _times(demo)
    moved = after["inputs"][inputs]
    paint = next(p for p in after["paints"][paints:] if p["at"] >= moved["at"])
    return {
        "painted_ms": paint["at"] - moved["at"],
        "shown_ms": paint["shown"] - moved["at"],
        "frames": round((paint["shown"] - moved["frame"]) / FRAME_MS),  # 1: shown at the first frame after the input's
        "decode_ms": paint["ms"],
        "engine": paint["engine"],
    }


def measure_slider_moves(demo: DemoPage, engine: str, moves: int) -> dict:
    """Single pointer moves on a slider, each waited for: input to digit painted and to digit shown."""
    track = demo.slider_track(3)
    requests = len(demo.requests)
    demo.press(track(0.5))  # it may set the slider too: that digit comes before the first timed move
    settle(demo)
    timed = []
    for move in tqdm(range(-WARM_UP_MOVES, moves), desc=f"{engine}: slider moves", leave=False):
        timed.append(_timed_input(demo, track(0.2 + 0.6 * ((move * 7) % 29) / 28)))  # a new place each time
        time.sleep(0.05)
    demo.release()
    settle(demo)
    _check_engine(demo, timed, engine)
    timed = timed[WARM_UP_MOVES:]
    return {
        "input_to_painted_ms": summarise([t["painted_ms"] for t in timed]),
        "input_to_shown_ms": summarise([t["shown_ms"] for t in timed]),
        "decode_ms": summarise([t["decode_ms"] for t in timed]),
        "next_frame_fraction": sum(t["frames"] <= 1 for t in timed) / len(timed),
        "server_calls": demo.server_calls(requests),
    }


def measure_drag(demo: DemoPage, engine: str, seconds: float) -> dict:
    """Digits shown per second while a slider gets an ``input`` event every animation frame."""
    requests = len(demo.requests)
    start, end = demo.page.evaluate(DRAG_JS, [DRAG_SLIDER, seconds])
    settle(demo)
    times = _times(demo)
    paints = [p for p in times["paints"] if start <= p["at"] <= end]
    _check_engine(demo, paints, engine)
    inputs = sum(start <= i["at"] <= end for i in times["inputs"])
    return {
        "seconds": (end - start) / 1000,
        "input_events": inputs,
        "digits_shown": len(paints),
        "inputs_per_s": rate(inputs, start, end),
        "digits_per_s": rate(len(paints), start, end),
        "server_calls": demo.server_calls(requests),
    }


def measure_stroke(demo: DemoPage, engine: str, seconds: float) -> dict:
    """Pad encodes per second during one stroke along a 7, from pen down to pen up."""
    requests = len(demo.requests)
    before = _times(demo)
    pad = demo.pad_area()
    path = seven_stroke(round(seconds * 1000 / FRAME_MS))
    demo.press(pad(*path[0]))
    started = time.perf_counter()
    for point in path[1:]:
        if time.perf_counter() - started >= seconds:
            break
        demo.move(pad(*point))
    demo.release()
    settle(demo)
    times = _times(demo)
    down, up = times["pad"]["down"][-1], times["pad"]["up"][-1]
    encodes = sum(down <= at <= up for at in times["encodes"])
    moves = times["pad"]["moves"] - before["pad"]["moves"]
    _check_engine(demo, times["paints"][len(before["paints"]) :], engine)
    demo.clear_pad()
    settle(demo)
    return {
        "seconds": (up - down) / 1000,
        "pointer_moves": moves,
        "encodes": encodes,
        "pointer_moves_per_s": rate(moves, down, up),
        "encodes_per_s": rate(encodes, down, up),
        "server_calls": demo.server_calls(requests),
    }


def measure_tile_clicks(demo: DemoPage, engine: str, clicks: int) -> dict:
    """Tile click to sliders set, each click waited for until its sliders are set and its digit painted."""
    requests = len(demo.requests)
    start = len(_times(demo)["clicks"])
    for click in tqdm(range(clicks), desc=f"{engine}: tile clicks", leave=False):
        demo.click_tile(click % 10)
        demo.page.wait_for_function(
            """n => {
              const t = window.vaeportTimes, click = t.clicks[n];
              return click?.set !== undefined && t.paints.some((p) => p.at >= click.at);
            }""",
            arg=start + click,
        )
        time.sleep(0.05)
    times = _times(demo)
    timed = times["clicks"][start:]
    _check_engine(demo, [p for p in times["paints"] if p["at"] >= timed[0]["at"]], engine)
    return {
        "click_to_set_ms": summarise([c["set"] - c["at"] for c in timed]),
        "server_calls": demo.server_calls(requests),
    }


# --- once per run -------------------------------------------------------------------------


def measure_engine_start(context, url: str, loads: int) -> dict:
    """Fresh page loads with the HTTP cache off: milliseconds from navigation start until the
    page was built (it runs on the server meanwhile) and until the browser engine was ready."""
    built, ready = [], []
    for _ in tqdm(range(loads), desc="page loads", leave=False):
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        page.add_init_script(TIMING_JS)
        page.goto(url)
        _wait_for_browser_engine(page)
        times = page.evaluate("window.vaeportTimes")
        if times["ready"] is None:
            raise RuntimeError(f"the browser engine did not start: {page.text_content('.status')}")
        built.append(times["built"])
        ready.append(times["ready"])
        page.close()
    return {"built_ms": summarise(built), "ready_ms": summarise(ready)}


def measure_calls(context, ort_dist: Path, rounds: int) -> dict:
    """Per-call milliseconds of one decode and one encode: onnxruntime-web (wasm, one thread) in the
    page and onnxruntime in Python (``VAERuntime``, one thread), fp32 and int8, rounds interleaved."""
    runtimes = {precision: VAERuntime.load(device="cpu", precision=precision, threads=1) for precision in PRECISIONS}
    seven = next(example for example in runtimes["fp32"].manifest["examples"] if example["digit"] == 7)
    z = np.asarray(seven["mu"], dtype=np.float32)
    inputs = {"decode": z, "encode": runtimes["fp32"].decode(z)}  # a digit the model drew: MNIST-like
    cells = [(precision, part) for precision in PRECISIONS for part in inputs]
    python = {cell: [] for cell in cells}
    wasm = {cell: [] for cell in cells}
    with tempfile.TemporaryDirectory(prefix="vaeport-calls-") as folder:
        for precision, vae in runtimes.items():
            write_assets(Path(folder) / precision, vae, browser=True, ort_dist=ort_dist)
        with static_server(Path(folder)) as url:
            page = context.new_page()
            page.goto(url)
            version = page.evaluate(CALLS_SETUP_JS, {"base": url, "precisions": list(PRECISIONS)})
            for round_ in tqdm(range(-1, rounds), desc="wasm and Python calls", leave=False):  # round -1 warms up
                for precision, part in cells:
                    call = getattr(runtimes[precision], part)
                    start = time.perf_counter()
                    for _ in range(CALLS_PER_ROUND):
                        call(inputs[part])
                    per_call = (time.perf_counter() - start) * 1000 / CALLS_PER_ROUND
                    in_page = page.evaluate(
                        CALLS_ROUND_JS,
                        {
                            "precision": precision,
                            "part": part,
                            "input": inputs[part].ravel().tolist(),
                            "calls": CALLS_PER_ROUND,
                        },
                    )
                    if round_ >= 0:
                        python[precision, part].append(per_call)
                        wasm[precision, part].append(in_page)
            page.close()

    def table(samples: dict) -> dict:
        return {precision: {part: summarise(samples[precision, part]) for part in inputs} for precision in PRECISIONS}

    return {
        "onnxruntime_web": version,
        "calls_per_round": CALLS_PER_ROUND,
        "wasm_ms": table(wasm),
        "python_ms": table(python),
    }


def screenshot(context, url: str, path: Path) -> None:
    """The whole page after a 7 was drawn on a fresh one with the browser engine ready, as a PNG."""
    demo = open_engine_page(context, url, "browser")
    pad = demo.pad_area()
    stroke = seven_stroke(40)
    demo.press(pad(*stroke[0]))
    for point in stroke[1:]:
        demo.move(pad(*point))
    demo.release()
    settle(demo)
    path.parent.mkdir(parents=True, exist_ok=True)
    demo.page.screenshot(path=path, full_page=True)
    demo.page.close()


# --- the whole run ------------------------------------------------------------------------


def verdicts(engine: dict) -> dict:
    """Whether one engine's results meet the targets and, where one is short, what limits it."""
    slider, stroke = engine["slider"], engine["stroke"]
    shown, decode = slider["input_to_shown_ms"]["median"], slider["decode_ms"]["median"]
    slider_met = shown <= SLIDER_TARGET_MS
    if slider_met:
        slider_why = None
    elif engine["name"] == "server":
        slider_why = (
            f"each digit is a round trip to the server: painted {slider['input_to_painted_ms']['median']:.1f} ms "
            f"after the input, of which the server's decode is {decode:.2f} ms"
        )
    elif decode >= FRAME_MS:
        slider_why = f"the decode alone takes {decode:.1f} ms, longer than a frame"
    else:
        slider_why = (
            f"the decode takes {decode:.2f} ms, yet only {100 * slider['next_frame_fraction']:.0f}% of digits were "
            "shown at the first frame after their input: the page's main thread or the compositor was late"
        )
    pad_met = stroke["encodes_per_s"] >= PAD_TARGET_PER_S
    if pad_met:
        pad_why = None
    elif stroke["pointer_moves_per_s"] < PAD_TARGET_PER_S:
        pad_why = (
            f"the pointer moved only {stroke['pointer_moves_per_s']:.2f} times a second (Playwright's moves take a "
            f"round trip each), and the page encoded after {stroke['encodes']} of its {stroke['pointer_moves']} moves"
        )
    else:
        what = (
            "a round trip to the server" if engine["name"] == "server" else "preprocessing, encoder and decoder in wasm"
        )
        pad_why = (
            f"the engine: one encode every {1000 / max(stroke['encodes_per_s'], 1e-9):.0f} ms ({what}) while the "
            f"pen moved {stroke['pointer_moves_per_s']:.0f} times a second"
        )
    return {"slider": {"met": slider_met, "why": slider_why}, "pad": {"met": pad_met, "why": pad_why}}


def run_browser_benchmark(
    url: str,
    ort_dist: Path,
    moves: int,
    clicks: int,
    seconds: float,
    loads: int,
    rounds: int,
    screenshot_to: Path | None = None,
) -> dict:
    """Every measurement on the demo at ``url`` (served with ``--ort-web ort_dist``); the results as a dict."""
    with chromium() as context:
        start = measure_engine_start(context, url, loads)
        calls = measure_calls(context, ort_dist, rounds)
        pages = {engine: open_engine_page(context, url, engine) for engine in ENGINES}
        user_agent = pages["browser"].page.evaluate("navigator.userAgent")
        engines = {engine: {"name": engine} for engine in ENGINES}
        parts = (
            ("slider", lambda demo, engine: measure_slider_moves(demo, engine, moves)),
            ("drag", lambda demo, engine: measure_drag(demo, engine, seconds)),
            ("stroke", lambda demo, engine: measure_stroke(demo, engine, seconds)),
            ("tiles", lambda demo, engine: measure_tile_clicks(demo, engine, clicks)),
        )
        for part, measure in tqdm(parts, desc="browser benchmark"):
            for engine, demo in pages.items():
                demo.page.bring_to_front()  # a tab in the background gets no animation frames
                engines[engine][part] = measure(demo, engine)
        for engine in engines.values():
            engine["verdict"] = verdicts(engine)
        if screenshot_to:
            screenshot(context, url, screenshot_to)
    return {
        "user_agent": user_agent,
        "settings": {"moves": moves, "clicks": clicks, "seconds": seconds, "loads": loads, "rounds": rounds},
        "targets": {"slider_to_digit_shown_median_ms": SLIDER_TARGET_MS, "pad_encodes_per_s": PAD_TARGET_PER_S},
        "engines": engines,
        "engine_start": start,
        "calls": calls,
    }


def _cdf(axis, samples: list[float], **style) -> None:
    ordered = np.sort(samples)
    axis.step(ordered, np.arange(1, len(ordered) + 1) / len(ordered), where="post", **style)


def plot(results: dict, path: Path) -> None:
    """Latency CDFs per engine, live-update rates per engine, and per-call times in wasm and in Python."""
    figure = Figure(figsize=(15, 4.4), layout="constrained")
    latency, rates, calls = figure.subplots(1, 3, width_ratios=(1.6, 1, 1.2))
    for colour, engine in enumerate(ENGINES):
        measured = results["engines"][engine]
        shown = measured["slider"]["input_to_shown_ms"]
        curves = (
            (shown, "-", f"slider input → shown (median {shown['median']:.1f})"),
            (measured["slider"]["input_to_painted_ms"], "--", "slider input → painted"),
            (measured["tiles"]["click_to_set_ms"], ":", "tile click → sliders set"),
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

    cells = [(precision, part) for precision in PRECISIONS for part in ("decode", "encode")]
    for offset, (runtime, key) in enumerate(
        (("onnxruntime-web (wasm)", "wasm_ms"), ("onnxruntime (Python)", "python_ms"))
    ):
        values = [results["calls"][key][precision][part]["median"] * 1000 for precision, part in cells]
        bars = calls.bar(
            np.arange(len(cells)) + (offset - 0.5) * width, values, width, color=f"C{offset + 2}", label=runtime
        )
        calls.bar_label(bars, fmt="%.0f", fontsize=8)
    calls.set_xticks(np.arange(len(cells)), [f"{part}\n{precision}" for precision, part in cells])
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


def _verdict(verdict: dict) -> str:
    return "met" if verdict["met"] else f"NOT MET: {verdict['why']}"


def print_summary(results: dict) -> None:
    machine = results["machine"]
    load = ", ".join(f"{value:.2f}" for value in machine["load_average_start"] or [])
    print(
        f"machine: {machine['cpu']['model']}, {machine['cpu']['usable_cpus']} usable CPUs, load average {load} at the "
        f"start; {results['user_agent']}; onnxruntime-web {results['calls']['onnxruntime_web']}"
    )
    for engine in ENGINES:
        measured = results["engines"][engine]
        slider, painted = measured["slider"]["input_to_shown_ms"], measured["slider"]["input_to_painted_ms"]
        print(f"{engine} engine:")
        print(
            f"  slider input -> digit shown: median {slider['median']:.1f} ms, p90 {slider['p90']:.1f} ms; painted: median "
            f"{painted['median']:.1f} ms, p90 {painted['p90']:.1f} ms over {slider['count']} moves; "
            f"{100 * measured['slider']['next_frame_fraction']:.0f}% shown at the first frame after the input"
        )
        print(f"    target: median <= {SLIDER_TARGET_MS:.1f} ms: {_verdict(measured['verdict']['slider'])}")
        drag = measured["drag"]
        print(
            f"  fast drag: {drag['digits_per_s']:.1f} digits shown per second ({drag['inputs_per_s']:.1f} inputs per second)"
        )
        stroke = measured["stroke"]
        print(
            f"  pad stroke: {stroke['encodes']} encodes in {stroke['seconds']:.2f} s, {stroke['encodes_per_s']:.2f} per second "
            f"({stroke['pointer_moves']} pointer moves, {stroke['pointer_moves_per_s']:.2f} per second)"
        )
        print(f"    target: >= {PAD_TARGET_PER_S:.0f} per second: {_verdict(measured['verdict']['pad'])}")
        tiles = measured["tiles"]["click_to_set_ms"]
        print(
            f"  tile click -> sliders set: median {tiles['median']:.1f} ms, p90 {tiles['p90']:.1f} ms over {tiles['count']} clicks"
        )
        calls = {part: measured[part]["server_calls"] for part in ("slider", "drag", "stroke", "tiles")}
        print(f"  requests to the server engine: {calls}")
    start = results["engine_start"]
    print(
        f"browser engine ready: median {start['ready_ms']['median']:.0f} ms after navigation start (page built at "
        f"{start['built_ms']['median']:.0f} ms) over {start['ready_ms']['count']} loads with the HTTP cache off"
    )
    print(f"one call, one digit, one thread (median of rounds of {results['calls']['calls_per_round']} calls):")
    for precision in PRECISIONS:
        for part in ("decode", "encode"):
            wasm = results["calls"]["wasm_ms"][precision][part]["median"] * 1000
            python = results["calls"]["python_ms"][precision][part]["median"] * 1000
            print(f"  {part} {precision}: wasm {wasm:.0f} µs, Python {python:.0f} µs ({wasm / python:.1f}x)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m vaeport.benchmarks.browser", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--moves",
        type=bounded_number(int, 1),
        default=40,
        help="single slider moves timed per engine (default: %(default)s)",
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
        "--precision", choices=PRECISIONS, default=PRECISIONS[0], help="graphs both engines run (default: %(default)s)"
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
            url, ort_dist, args.moves, args.clicks, args.seconds, args.loads, args.rounds, args.screenshot
        )
    machine["load_average_end"] = list(os.getloadavg())
    results = {"url": url, "precision": args.precision, "machine": machine, **results}
    write_results(results, args.out, "browser", plot, print_summary)
    if args.screenshot:
        print(f"and the page after drawing a 7 to {args.screenshot}")


if __name__ == "__main__":
    main()
