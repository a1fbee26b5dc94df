"""The browser benchmark's verdicts on its targets and its console summary."""

from vaeport.benchmarks.browser.measurements import FRAME_MS
from vaeport.benchmarks.browser.pages import ENGINES

SLIDER_TARGET_MS = FRAME_MS  # from slider input (or a press on the map) to digit shown, median: one frame at 60 Hz
PAD_TARGET_PER_S = 30.0  # pad encodes per second during a stroke
MAP_FRAME_TARGET_MS = 4.0  # one frame of the latent map, all 10,000 dots, drawn and rasterised, median
PARTS = ("slider", "drag", "stroke", "tiles", "map")


def _input_verdict(name: str, inputs: dict) -> dict:
    """Whether inputs (slider moves, presses on the map) show their digit within a frame, and if not, why."""
    shown, decode = inputs["input_to_shown_ms"]["median"], inputs["decode_ms"]["median"]
    if shown <= SLIDER_TARGET_MS:
        why = None
    elif name == "server":
        why = (
            f"each digit is a round trip to the server: painted {inputs['input_to_painted_ms']['median']:.1f} ms "
            f"after the input, of which the server's decode is {decode:.2f} ms"
        )
    elif decode >= FRAME_MS:
        why = f"the decode alone takes {decode:.1f} ms, longer than a frame"
    else:
        why = (
            f"the decode takes {decode:.2f} ms, yet only {100 * inputs['next_frame_fraction']:.0f}% of digits were "
            "shown at the first frame after their input: the page's main thread or the compositor was late"
        )
    return {"met": why is None, "why": why}


def verdicts(engine: dict) -> dict:
    """Whether one engine's results meet the targets and, where one is short, what limits it."""
    stroke, frame = engine["stroke"], engine["map"]["frame_ms"]["median"]
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
    frame_why = None
    if frame > MAP_FRAME_TARGET_MS:
        drawn = engine["map"]["frame_draw_ms"]["median"]
        frame_why = f"a frame takes {frame:.2f} ms, of which {drawn:.2f} ms to draw and the rest to rasterise"
    return {
        "slider": _input_verdict(engine["name"], engine["slider"]),
        "map": _input_verdict(engine["name"], engine["map"]),
        "map_frame": {"met": frame_why is None, "why": frame_why},
        "pad": {"met": pad_met, "why": pad_why},
    }


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
        map_press, map_frame = measured["map"]["input_to_shown_ms"], measured["map"]["frame_ms"]
        print(
            f"  map press -> digit shown: median {map_press['median']:.1f} ms, p90 {map_press['p90']:.1f} ms over "
            f"{map_press['count']} presses; one map frame (10,000 dots) drawn and rasterised: median "
            f"{map_frame['median']:.2f} ms, p90 {map_frame['p90']:.2f} ms over {map_frame['count']} frames"
        )
        print(f"    target: median <= {SLIDER_TARGET_MS:.1f} ms: {_verdict(measured['verdict']['map'])}")
        print(f"    target: frame median <= {MAP_FRAME_TARGET_MS:.0f} ms: {_verdict(measured['verdict']['map_frame'])}")
        tiles = measured["tiles"]["click_to_set_ms"]
        print(
            f"  tile click -> sliders set: median {tiles['median']:.1f} ms, p90 {tiles['p90']:.1f} ms over {tiles['count']} clicks"
        )
        calls = {part: measured[part]["server_calls"] for part in PARTS}
        print(f"  requests to the server engine: {calls}")
    sizes = results["map_bytes"]
    print(
        f"the map adds {sizes['raw'] / 1000:.1f} kB to the manifest the page fetches, {sizes['gzip'] / 1000:.1f} kB "
        f"gzipped (the manifest: {sizes['manifest_raw'] / 1000:.1f} kB, {sizes['manifest_gzip'] / 1000:.1f} kB gzipped)"
    )
    start = results["engine_start"]
    print(
        f"browser engine ready: median {start['ready_ms']['median']:.0f} ms after navigation start (page built at "
        f"{start['built_ms']['median']:.0f} ms) over {start['ready_ms']['count']} loads with the HTTP cache off"
    )
    first = results["first_load"]
    print(f"a first visit of the {first['precision']} static site, compressed copies served, HTTP cache off:")
    for link, load in first["links"].items():
        print(
            f"  {link}: size shown {load['progress_ms']:.0f} ms, sliders live {load['sliders_ms']:.0f} ms, "
            f"pad live {load['pad_ms']:.0f} ms after navigation start; {load['bytes'] / 1e6:.2f} MB transferred"
        )
    calls = results["calls"]
    print(
        f"one call, one digit, one thread, {calls['precision']} graphs (median of rounds of {calls['calls_per_round']} calls):"
    )
    for part, wasm_ms in calls["wasm_ms"].items():
        wasm, python = wasm_ms["median"] * 1000, calls["python_ms"][part]["median"] * 1000
        print(f"  {part}: wasm {wasm:.0f} µs, Python {python:.0f} µs ({wasm / python:.1f}x)")
