"""The whole browser benchmark on one running demo: every measurement on both engine pages, and the screenshot."""

from pathlib import Path

from tqdm import tqdm

from vaeport.benchmarks.browser.measurements import (
    measure_calls,
    measure_drag,
    measure_engine_start,
    measure_first_load,
    measure_map_bytes,
    measure_map_presses,
    measure_slider_moves,
    measure_stroke,
    measure_tile_clicks,
    settle,
)
from vaeport.benchmarks.browser.pages import ENGINES, open_engine_page
from vaeport.benchmarks.browser.report import MAP_FRAME_TARGET_MS, PAD_TARGET_PER_S, SLIDER_TARGET_MS, verdicts
from vaeport.benchmarks.harness import chromium, seven_stroke


def screenshot(context, url: str, path: Path) -> None:
    """The whole page after a 7 was drawn on a fresh one with the browser engine ready, as a PNG."""
    demo = open_engine_page(context, url, "browser")
    demo.draw(seven_stroke(40))
    settle(demo)
    path.parent.mkdir(parents=True, exist_ok=True)
    demo.page.screenshot(path=path, full_page=True)
    demo.page.close()


def run_browser_benchmark(
    url: str,
    ort_dist: Path,
    precision: str,
    moves: int,
    clicks: int,
    seconds: float,
    loads: int,
    rounds: int,
    screenshot_to: Path | None = None,
) -> dict:
    """Every measurement on the demo at ``url`` (served with ``--ort-web ort_dist`` and ``--precision
    precision``); the results as a dict. Each part runs on one engine's page, then on the other's, so
    both see the same machine."""
    with chromium() as context:
        start = measure_engine_start(context, url, loads)
        first_load = measure_first_load(context, ort_dist, precision)
        calls = measure_calls(context, ort_dist, precision, rounds)
        pages = {engine: open_engine_page(context, url, engine) for engine in ENGINES}
        user_agent = pages["browser"].page.evaluate("navigator.userAgent")
        engines = {engine: {"name": engine} for engine in ENGINES}
        parts = (
            ("slider", lambda demo, engine: measure_slider_moves(demo, engine, moves)),
            ("drag", lambda demo, engine: measure_drag(demo, engine, seconds)),
            ("stroke", lambda demo, engine: measure_stroke(demo, engine, seconds)),
            ("tiles", lambda demo, engine: measure_tile_clicks(demo, engine, clicks)),
            ("map", lambda demo, engine: measure_map_presses(demo, engine, moves)),
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
        "targets": {
            "slider_to_digit_shown_median_ms": SLIDER_TARGET_MS,
            "map_press_to_digit_shown_median_ms": SLIDER_TARGET_MS,
            "map_frame_median_ms": MAP_FRAME_TARGET_MS,
            "pad_encodes_per_s": PAD_TARGET_PER_S,
        },
        "engines": engines,
        "map_bytes": measure_map_bytes(precision),
        "engine_start": start,
        "first_load": first_load,
        "calls": calls,
    }
