"""The pages the browser benchmark opens: a driver for one demo page, the probe in each page, and
the two engine pages it compares.

The probe (``probe.mjs`` beside this module) is added to every page before the page's own code
runs; Python asks it questions through ``call_probe`` and ``wait_for_probe``.
"""

import re
from importlib.resources import files

from vaeport.ui.assets import ORT_FOLDER
from vaeport.ui.gradio_internals import SERVER_FUNCTION_ROUTE

ENGINES = ("browser", "server")
ENGINE_START_TIMEOUT_S = 120
PROBE = files(__package__) / "probe.mjs"


class DemoDriver:
    """Drives one open demo page as a user would, and records what the page asks of the network.

    ``requests`` lists every request the page made, as (method, URL), so a caller can count what
    an action sent to the server; ``errors``, the JavaScript errors the page reported.
    """

    def __init__(self, page):
        self.page = page
        self.errors: list[str] = []
        self.requests: list[tuple[str, str]] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("request", lambda request: self.requests.append((request.method, request.url)))

    @classmethod
    def open(cls, context, url: str, timeout_s: float = 60, before=None):
        """Open ``url`` in a new tab of ``context`` and wait until the page is built.

        ``before(page)``, when given, runs before the page loads: to add an init script or a route.
        """
        demo = cls(context.new_page())
        if before:
            before(demo.page)
        demo.page.goto(url)
        demo.page.wait_for_selector("#digit canvas", timeout=timeout_s * 1000)
        return demo

    def engine(self) -> str:
        """The engine that runs the model now: browser, server or none (``data-engine`` on the page's root)."""
        return self.page.get_attribute("[data-engine]", "data-engine")

    def status(self) -> str:
        return self.page.text_content(".status")

    def server_calls(self, since: int = 0) -> int:
        """How many requests from request ``since`` on went to the server engine (Gradio's server functions)."""
        return sum(method == "POST" and SERVER_FUNCTION_ROUTE in url for method, url in self.requests[since:])

    def slider_track(self, index: int):
        """A function from a fraction of slider ``index``'s track to the page position there."""
        box = self.page.locator(".latent input[type=range]").nth(index).bounding_box()
        return lambda fraction: (box["x"] + box["width"] * fraction, box["y"] + box["height"] / 2)

    def pad_area(self):
        """A function from pad fractions (across, down) to the page position there."""
        return self._area(".pad-canvas")

    def map_area(self):
        """A function from latent map fractions (across, down) to the page position there."""
        return self._area(".map-canvas")

    def _area(self, selector: str):
        box = self.page.locator(selector).bounding_box()
        return lambda u, v: (box["x"] + box["width"] * u, box["y"] + box["height"] * v)

    def draw(self, path: list[tuple[float, float]]) -> None:
        """One stroke on the pad through ``path``, in pad fractions (across, down)."""
        pad = self.pad_area()
        self.press(pad(*path[0]))
        for point in path[1:]:
            self.move(pad(*point))
        self.release()

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


# --- the probe ----------------------------------------------------------------------------


def probe_script() -> str:
    """``probe.mjs`` as a script that runs before a page's own: its declarations without their
    ``export`` keyword, in a strict function of their own, then ``installProbe(window)``."""
    declarations = re.sub(r"^export ", "", PROBE.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return f"(() => {{\n'use strict';\n{declarations}\ninstallProbe(window);\n}})();\n"


def add_probe(page) -> None:
    """Install the probe in ``page`` (a Playwright page) from its next navigation on."""
    page.add_init_script(probe_script())


def call_probe(page, name: str, *args):
    """What ``window.vaeportProbe[name](...args)`` answers in ``page`` (awaited when it is a promise)."""
    return page.evaluate("([name, args]) => window.vaeportProbe[name](...args)", [name, list(args)])


def wait_for_probe(page, name: str, *args, timeout_s: float = 30):
    """Wait until ``window.vaeportProbe[name](...args)`` answers something other than null or false; that answer."""
    handle = page.wait_for_function(
        "([name, args]) => window.vaeportProbe[name](...args)", arg=[name, list(args)], timeout=timeout_s * 1000
    )
    return handle.json_value()


# --- the two engine pages -----------------------------------------------------------------


def open_engine_page(context, url: str, engine: str) -> DemoDriver:
    """The demo at ``url`` running on ``engine``, with the probe in place: the server engine's page
    has its requests for onnxruntime-web refused, so it stays on the server as ``--server-only`` pages do."""

    def prepare(page):
        add_probe(page)
        if engine == "server":
            page.route(f"**/{ORT_FOLDER}**", lambda route: route.abort())

    demo = DemoDriver.open(context, url, before=prepare)
    wait_for_probe(demo.page, "engineSettled", timeout_s=ENGINE_START_TIMEOUT_S)
    if demo.engine() != engine:
        raise RuntimeError(f"the page runs on the {demo.engine()} engine, not the {engine} engine: {demo.status()}")
    return demo
