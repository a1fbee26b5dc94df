"""One open demo page as the browser tests see it: the benchmark's driver, plus what the page shows."""

import json

import numpy as np

from vaeport.benchmarks.browser.pages import DemoDriver


class DemoUnderTest(DemoDriver):
    """A ``DemoDriver`` that also reads the page: its sliders, its canvases, its bands and its counters."""

    @classmethod
    def open(cls, context, url: str, engine: str | None = "browser", timeout_s: float = 60, before=None):
        """Open ``url`` and wait until the page is built and, unless ``engine`` is None, runs on that engine
        (the browser engine with both graphs in)."""
        demo = super().open(context, url, timeout_s=timeout_s, before=before)
        if engine is not None:
            demo.page.wait_for_function(
                "engine => document.querySelector('[data-engine]')?.dataset.engine === engine",
                arg=engine,
                timeout=timeout_s * 1000,
            )
        if engine == "browser":
            demo.page.wait_for_selector("[data-browser=ready]", timeout=timeout_s * 1000)
        return demo

    def slider_values(self) -> list[float]:
        return self.page.eval_on_selector_all(
            ".latent input[type=range]", "sliders => sliders.map(s => s.valueAsNumber)"
        )

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

    def readout(self) -> dict[str, float]:
        """The figures ``#elbo`` shows, by name (as rounded on the page), and ``z``, where they were taken."""
        figures = self.page.eval_on_selector_all(
            "#elbo [data-figure]", "cells => cells.map(c => [c.dataset.figure, c.textContent])"
        )
        return {name: float(text) for name, text in figures} | {
            "z": json.loads(self.page.get_attribute("#elbo", "data-z"))
        }

    def marker(self) -> list[float] | None:
        """Where the latent map drew z in its latest frame: [x, y] CSS pixels from the canvas's corner."""
        marker = self.page.get_attribute("#map", "data-marker")
        return None if marker is None else json.loads(marker)

    def map_frames(self) -> int:
        return int(self.page.get_attribute("#map", "data-frames") or 0)

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
