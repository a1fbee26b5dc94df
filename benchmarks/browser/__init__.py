"""Browser benchmark: the demo's browser engine and server engine side by side in headless Chromium.

    python -m vaeport.benchmarks.browser [--moves 40] [--clicks 30] [--seconds 3] [--loads 3] [--rounds 30]
                                         [--precision fp32] [--ort-web DIR] [--out runs/browser]
                                         [--screenshot docs/demo.png]

Starts one ``vaeport demo --ort-web DIR --precision P`` (onnxruntime-web from a local copy, nothing
from the internet) on a free loopback port and opens it twice in Debian's Chromium, driven by
Playwright: one page runs the model in the browser (the browser engine), the other has its
onnxruntime-web requests refused, so it falls back to the server as ``--server-only`` pages do (the
server engine). Each measurement runs on one page, then on the other, so both see the same machine.

Every time is taken inside the page, by a probe added to it before it loads (``probe.mjs``, which
says what it records), so Playwright's own round trips are not counted. "Shown" is the start of the
first animation frame after a digit was painted. Chromium aligns pointer moves to frames: a slider's
``input`` event is dispatched at the start of a frame. The browser engine decodes while the page
handles it, so its digit goes to the compositor with the input's own frame, and "shown" is the
start of the next frame, under 16.7 ms after the input. A press (on the map) is dispatched when it
comes, between two frames, and so is a reply from the server: a digit painted then goes with the
next frame, whose start is its "shown". The same
timestamp thus marks the end of the frame that holds a browser-engine digit and the start of the
frame that holds a server-engine one: the server engine's "shown" times are up to a frame kinder
than the browser engine's.

What is measured, per engine (``measurements.py``):

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
- map press to digit painted and to digit shown, median and p90, over single presses on the latent
  map through Playwright, each waited for; and the cost of one frame of the map (all 10,000 dots),
  the map's own drawing time plus the rasterisation the probe forces by reading one pixel back;
- requests to the server engine during each part (the browser engine should make none).

And once: the bytes the latent map adds to the page (the manifest's ``map`` section, raw and as it
adds to the gzipped manifest); the time from navigation start until the browser engine is ready (``data-browser``
turns ``ready``), over fresh page loads with the HTTP cache off; and one decode and one encode of
the ``--precision`` graphs in the page's own browser engine (onnxruntime-web, wasm, one thread)
beside onnxruntime in Python (``VAERuntime``, one thread). And a first visit of the static site
(``vaeport web --precision P``, with its compressed copies, served by ``static_host``, which sends
them), through Chromium's throttling with the HTTP cache off, at 10 Mbit/s with a 40 ms round trip
and at 50 Mbit/s with 20 ms: the time until the status line shows the download's size, until the
sliders run in the browser (its decoder in) and until the pad does (its encoder in), and the bytes
transferred.

Targets on a 2-core machine: a median of at most 16.7 ms (one frame at 60 Hz) from slider input,
and from a press on the map, to digit shown; at least 30 pad encodes a second; at most 4 ms for a
frame of the map. Each is reported as met or not, per engine,
with what limits it when short (``report.py``). Writes ``browser.json`` and ``browser.png``
(``plots.py``) to ``--out`` and prints a summary; with ``--screenshot``, also a picture of the page
after drawing a 7 with the browser engine ready (the README's ``docs/demo.png``).
"""
