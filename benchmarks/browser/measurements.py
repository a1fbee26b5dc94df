"""The browser benchmark's measurements: each part of the run, on one engine's page or once per run.

Every time comes from the probe in the page (``probe.mjs``), on the page's own clock.
"""

import gzip
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from vaeport.benchmarks.browser.pages import (
    ENGINE_START_TIMEOUT_S,
    DemoDriver,
    add_probe,
    call_probe,
    wait_for_probe,
)
from vaeport.benchmarks.harness import cache_off, seven_stroke, static_server, throttle
from vaeport.contract import DIGITS
from vaeport.runtime import VAERuntime
from vaeport.ui.assets import ORT_WEB, manifest_text, write_assets
from vaeport.ui.web import write_site

FRAME_MS = 1000 / 60
WARM_UP_MOVES = 5  # untimed: they pay for first calls on both sides
SLIDER = 3  # the slider moved one step at a time
DRAG_SLIDER = 5
CALLS_PER_ROUND = 50
QUIET_MS = 300  # the page counts as settled after this long without an input, paint or encode
# a first visit's links: (name, bytes per second, added round-trip latency in ms)
FIRST_LOAD_LINKS = (("10 Mbit/s, 40 ms", 10e6 / 8, 40), ("50 Mbit/s, 20 ms", 50e6 / 8, 20))
TRANSFERRED = """() => [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
  .reduce((sum, entry) => sum + entry.transferSize, 0)"""


def summarise_times(samples: list[float]) -> dict:
    """Count, median, p90 and maximum of time ``samples`` in milliseconds (numpy's linear percentiles),
    with the samples."""
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


def _times(demo: DemoDriver) -> dict:
    return call_probe(demo.page, "times")


def settle(demo: DemoDriver) -> None:
    """Wait until the page has had no input, paint or encode for ``QUIET_MS``."""
    wait_for_probe(demo.page, "quietFor", QUIET_MS)


def _check_engine(demo: DemoDriver, paints: list[dict], engine: str) -> None:
    """Every digit of a measurement must come from the engine it is filed under."""
    others = {paint["engine"] for paint in paints} - {engine}
    if others or demo.errors:
        raise RuntimeError(
            f"the {engine} engine's page painted with {sorted(others)} or reported errors: {demo.errors}"
        )


# --- on one engine's page -----------------------------------------------------------------


def _timed_input(demo: DemoDriver, act) -> dict:
    """``act()``, one input (a slider move with the pointer pressed, a press on the map), and wait for its
    digit; the paint's times after the input, in ms."""
    before = _times(demo)
    act()
    timed = wait_for_probe(demo.page, "paintOfInput", len(before["inputs"]), len(before["paints"]))
    moved, paint = timed["input"], timed["paint"]
    return {
        "painted_ms": paint["at"] - moved["at"],
        "shown_ms": paint["shown"] - moved["at"],
        "frames": round((paint["shown"] - moved["frame"]) / FRAME_MS),  # 1: shown at the first frame after the input's
        "decode_ms": paint["ms"],
        "engine": paint["engine"],
    }


def _input_latencies(timed: list[dict]) -> dict:
    """What timed inputs (``_timed_input``) add up to: input to painted and to shown, the decode, and the
    share shown at the first frame after the input's."""
    return {
        "input_to_painted_ms": summarise_times([t["painted_ms"] for t in timed]),
        "input_to_shown_ms": summarise_times([t["shown_ms"] for t in timed]),
        "decode_ms": summarise_times([t["decode_ms"] for t in timed]),
        "next_frame_fraction": sum(t["frames"] <= 1 for t in timed) / len(timed),
    }


def measure_slider_moves(demo: DemoDriver, engine: str, moves: int) -> dict:
    """Single pointer moves on a slider, each waited for: input to digit painted and to digit shown."""
    track = demo.slider_track(SLIDER)
    requests = len(demo.requests)
    demo.press(track(0.5))  # it may set the slider too: that digit comes before the first timed move
    settle(demo)
    timed = []
    for move in tqdm(range(-WARM_UP_MOVES, moves), desc=f"{engine}: slider moves", leave=False):
        point = track(0.2 + 0.6 * ((move * 7) % 29) / 28)  # a new place each time
        timed.append(_timed_input(demo, lambda point=point: demo.move(point)))
        time.sleep(0.05)
    demo.release()
    settle(demo)
    _check_engine(demo, timed, engine)
    return {**_input_latencies(timed[WARM_UP_MOVES:]), "server_calls": demo.server_calls(requests)}


def measure_map_presses(demo: DemoDriver, engine: str, presses: int) -> dict:
    """Single presses on the latent map, each waited for: press to digit painted and to digit shown; and
    the map's frames meanwhile (all 10,000 dots), drawn and rasterised."""
    area = demo.map_area()
    requests = len(demo.requests)
    frames = len(_times(demo)["mapFrames"])
    timed = []
    for press in tqdm(range(-WARM_UP_MOVES, presses), desc=f"{engine}: map presses", leave=False):
        point = area(
            0.35 + 0.3 * ((press * 7) % 29) / 28, 0.35 + 0.3 * ((press * 5) % 23) / 22
        )  # a new place each time

        def click(point=point):
            demo.press(point)
            demo.release()

        timed.append(_timed_input(demo, click))
        time.sleep(0.05)
    settle(demo)
    _check_engine(demo, timed, engine)
    drawn = _times(demo)["mapFrames"][frames:]
    return {
        **_input_latencies(timed[WARM_UP_MOVES:]),
        "frame_ms": summarise_times([frame["flushed"] for frame in drawn]),
        "frame_draw_ms": summarise_times([frame["ms"] for frame in drawn]),
        "server_calls": demo.server_calls(requests),
    }


def measure_drag(demo: DemoDriver, engine: str, seconds: float) -> dict:
    """Digits shown per second while a slider gets an ``input`` event every animation frame, driven
    in the page (Playwright's pointer moves take a round trip each)."""
    requests = len(demo.requests)
    start, end = call_probe(demo.page, "drag", DRAG_SLIDER, seconds)
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


def measure_stroke(demo: DemoDriver, engine: str, seconds: float) -> dict:
    """Pad encodes per second during one stroke along a 7, from pen down to pen up, beside the
    pointer moves per second that Playwright managed."""
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


def measure_tile_clicks(demo: DemoDriver, engine: str, clicks: int) -> dict:
    """Tile click to sliders set, each click waited for until its sliders are set and its digit painted."""
    requests = len(demo.requests)
    start = len(_times(demo)["clicks"])
    for click in tqdm(range(clicks), desc=f"{engine}: tile clicks", leave=False):
        demo.click_tile(DIGITS[click % len(DIGITS)])
        wait_for_probe(demo.page, "settledClick", start + click)
        time.sleep(0.05)
    times = _times(demo)
    timed = times["clicks"][start:]
    _check_engine(demo, [p for p in times["paints"] if p["at"] >= timed[0]["at"]], engine)
    return {
        "click_to_set_ms": summarise_times([c["set"] - c["at"] for c in timed]),
        "server_calls": demo.server_calls(requests),
    }


# --- once per run -------------------------------------------------------------------------


def measure_map_bytes(precision: str) -> dict:
    """What the latent map adds to the page's download: the manifest's ``map`` section as the page gets the
    manifest (``manifest_text``), raw and as it adds to the manifest gzipped (at level 6, a web server's usual)."""
    manifest = VAERuntime.load(device="cpu", precision=precision, threads=1).manifest
    sizes = {}
    for name, whole in (
        ("with", manifest),
        ("without", {key: value for key, value in manifest.items() if key != "map"}),
    ):
        text = manifest_text(whole).encode()
        sizes[name] = (len(text), len(gzip.compress(text, compresslevel=6)))
    (raw, gzipped), (raw_without, gzipped_without) = sizes["with"], sizes["without"]
    return {"raw": raw - raw_without, "gzip": gzipped - gzipped_without, "manifest_raw": raw, "manifest_gzip": gzipped}


def _load(context, url: str, prepare):
    """A new page of ``context``, set up by ``prepare(page)`` (its network), at ``url`` with the probe, once its
    browser engine is ready: the page, still open, and the probe's times."""
    page = context.new_page()
    prepare(page)
    add_probe(page)
    page.goto(url)
    wait_for_probe(page, "engineSettled", timeout_s=ENGINE_START_TIMEOUT_S)
    times = call_probe(page, "times")
    if times["ready"] is None:
        raise RuntimeError(f"the browser engine did not start: {page.text_content('.status')}")
    return page, times


def measure_engine_start(context, url: str, loads: int) -> dict:
    """Fresh page loads with the HTTP cache off: milliseconds from navigation start until the
    page was built (it runs on the server meanwhile) and until the browser engine was ready."""
    built, ready = [], []
    for _ in tqdm(range(loads), desc="page loads", leave=False):
        page, times = _load(context, url, cache_off)
        built.append(times["built"])
        ready.append(times["ready"])
        page.close()
    return {"built_ms": summarise_times(built), "ready_ms": summarise_times(ready)}


def measure_calls(context, ort_dist: Path, precision: str, rounds: int) -> dict:
    """Per-call milliseconds of one decode and one encode of the ``precision`` graphs: the page's own
    browser engine (onnxruntime-web, wasm, one thread) in a page of its own, and onnxruntime in Python
    (``VAERuntime``, one thread), rounds interleaved.

    A page outside cross-origin isolation rounds ``performance.now()`` to 0.1 ms, so a round is
    ``CALLS_PER_ROUND`` calls and its figure their mean; the result is the median over rounds.
    """
    vae = VAERuntime.load(device="cpu", precision=precision, threads=1)
    seven = next(example for example in vae.manifest["examples"] if example["digit"] == 7)
    z = np.asarray(seven["mu"], dtype=np.float32)
    inputs = {"decode": z, "encode": vae.decode(z)}  # a digit the model drew: MNIST-like
    python = {part: [] for part in inputs}
    wasm = {part: [] for part in inputs}
    with tempfile.TemporaryDirectory(prefix="vaeport-calls-") as folder:
        located = write_assets(Path(folder), vae, browser=True, ort_dist=ort_dist)
        with static_server(Path(folder)) as url:
            page = context.new_page()
            add_probe(page)
            page.goto(url)
            loaded = call_probe(page, "loadEngine", url, located)
            for round_ in tqdm(range(-1, rounds), desc="wasm and Python calls", leave=False):  # round -1 warms up
                for part, data in inputs.items():
                    call = getattr(vae, part)
                    start = time.perf_counter()
                    for _ in range(CALLS_PER_ROUND):
                        call(data)
                    per_call = (time.perf_counter() - start) * 1000 / CALLS_PER_ROUND
                    in_page = call_probe(page, "timeCalls", part, data.ravel().tolist(), CALLS_PER_ROUND)
                    if round_ >= 0:
                        python[part].append(per_call)
                        wasm[part].append(in_page)
            page.close()
    return {
        "precision": loaded["precision"],
        "onnxruntime_web": ORT_WEB["version"],
        "calls_per_round": CALLS_PER_ROUND,
        "wasm_ms": {part: summarise_times(samples) for part, samples in wasm.items()},
        "python_ms": {part: summarise_times(samples) for part, samples in python.items()},
    }


def measure_first_load(context, ort_dist: Path, precision: str) -> dict:
    """A first visit of the static site (``vaeport web --precision precision --ort-web ort_dist``, with its
    compressed copies, from ``static_host``, which sends them) over each of FIRST_LOAD_LINKS, through
    Chromium's throttling with the HTTP cache off: milliseconds from navigation start until the status
    line showed the download's size, until the sliders ran in the browser (its decoder in) and until the
    pad did (its encoder in), and the bytes that came over the network."""
    runtime = VAERuntime.load(device="cpu", precision=precision, threads=1)
    links = {}
    with tempfile.TemporaryDirectory(prefix="vaeport-site-") as folder:
        site = Path(folder) / "site"
        write_site(site, runtime, ort_dist)
        with static_server(site) as url:
            for name, *link in tqdm(FIRST_LOAD_LINKS, desc="first loads", leave=False):
                page, times = _load(context, url, lambda page, link=link: throttle(page, *link))
                links[name] = {
                    "progress_ms": times["progress"],
                    "sliders_ms": times["sliders"],
                    "pad_ms": times["ready"],
                    "bytes": page.evaluate(TRANSFERRED),
                }
                page.close()
    return {"precision": precision, "links": links}
