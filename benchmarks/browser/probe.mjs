// The browser benchmark's probe: what it adds to every page it opens, before the page's own code
// runs. benchmarks/browser/pages.py adds this file as a Playwright init script, its `export`
// keywords dropped, so it imports nothing; installProbe(window) then puts it at window.vaeportProbe.
//
// Every time is the page's own clock, performance.now(), so Playwright's round trips are not
// counted. What the probe records (``times``):
//
// - inputs: each slider ``input`` event and each press on the latent map (capture listeners on the
//   document), its ``source`` ("slider" or "map"), and ``frame``: the start of the first animation
//   frame after it;
// - paints: each ``vaeport:painted`` event, with the engine and its decode time, and ``shown``: the
//   start of the first animation frame after the paint (a requestAnimationFrame requested right at
//   the event, or the one after it when that frame started before the paint), when the frame that
//   holds the new digit goes to the compositor;
// - encodes: each ``vaeport:encoded`` event;
// - mapFrames: each frame of the latent map (``vaeport:map-drawn``): ``ms``, the map's drawing time,
//   and ``flushed``, that time plus the rasterisation it asked for (``flush()``, reading one pixel
//   back right after the frame was drawn, makes the canvas raster it then);
// - pad: the pointer going down and up on the pad, and the pointer moves in between;
// - clicks: each click on an example tile, and ``set``: when the sliders' readouts next changed;
// - built, progress, sliders and ready: when the page's root appeared, when its status line first
//   showed the browser engine's download with its size, when the browser engine first ran the page
//   (its decoder in: the sliders live) and when it said the engine was ready (its encoder in too);
// - last: the latest input, paint or encode, to tell when the page has settled.

/** An empty record. */
export function newTimes() {
  return {
    inputs: [],
    paints: [],
    encodes: [],
    mapFrames: [],
    clicks: [],
    pad: {down: [], up: [], moves: 0},
    built: null,
    progress: null,
    sliders: null,
    ready: null,
    last: 0,
  };
}

/**
 * Handlers of the page's events that record into ``times``, apart from the page itself: ``clock()``
 * reads the time, ``afterFrame(callback)`` calls back with the start of the next animation frame,
 * ``afterReadouts(callback)`` calls back once when the sliders' readouts next change, ``flush(target)``
 * makes the canvas of the map that dispatched an event raster what it was asked to draw.
 */
export function recorder(times, {clock, afterFrame, afterReadouts, flush}) {
  const now = () => (times.last = clock());
  const on = (event, name) => Boolean(event.target.classList?.contains(name));
  const input = (source) => {
    const entry = {at: now(), source};
    times.inputs.push(entry);
    afterFrame((frame) => (entry.frame = frame));
  };
  return {
    input(event) {
      if (event.target.type === 'range') input('slider');
    },
    painted(event) {
      const paint = {at: now(), engine: event.detail.engine, ms: event.detail.ms};
      times.paints.push(paint);
      // A digit painted while the page handles a frame's input goes out with that frame, whose
      // animation frame callbacks (stamped with its start) are still to run: it is shown at the
      // start of the next one.
      const shown = (frame) => (frame > paint.at ? (paint.shown = frame) : afterFrame(shown));
      afterFrame(shown);
    },
    encoded() {
      times.encodes.push(now());
    },
    mapDrawn(event) {
      const started = clock();
      flush(event.target);
      times.mapFrames.push({ms: event.detail.ms, flushed: event.detail.ms + clock() - started});
    },
    pointerdown(event) {
      if (on(event, 'pad-canvas')) times.pad.down.push(clock());
      if (on(event, 'map-canvas')) input('map');
    },
    pointermove(event) {
      if (on(event, 'pad-canvas') && event.buttons) times.pad.moves += 1;
    },
    pointerup(event) {
      if (on(event, 'pad-canvas')) times.pad.up.push(clock());
    },
    click(event) {
      if (!event.target.closest?.('.tile')) return;
      const click = {at: clock()};
      times.clicks.push(click);
      afterReadouts(() => (click.set = clock()));
    },
    /** The page's root (or null, before it is built) changed its ``data-engine`` or ``data-browser``, or
     * its status line (``status``, its text) changed. */
    root(element, status = '') {
      if (element && times.built === null) times.built = clock();
      if (/ of [\d.]+ MB/.test(status) && times.progress === null) times.progress = clock();
      if (element?.dataset.engine === 'browser' && times.sliders === null) times.sliders = clock();
      if (element?.dataset.browser === 'ready' && times.ready === null) times.ready = clock();
    },
  };
}

/**
 * Input ``index`` (a slider input or a press on the map) and the first digit painted after it, ``{input, paint}``, once the starts
 * of the frames after both are known; else null. Paints before ``paintsBefore`` are not its own.
 */
export function paintOfInput(times, index, paintsBefore) {
  const input = times.inputs[index];
  if (input?.frame === undefined) return null;
  const paint = times.paints.slice(paintsBefore).find((candidate) => candidate.at >= input.at);
  return paint?.shown === undefined ? null : {input, paint};
}

/** Tile click ``index`` once it has set the sliders and a digit was painted after it; else null. */
export function settledClick(times, index) {
  const click = times.clicks[index];
  if (click?.set === undefined || !times.paints.some((paint) => paint.at >= click.at)) return null;
  return click;
}

/** Whether the page has had no input, paint or encode for more than ``ms`` before ``now``. */
export function quietFor(times, now, ms) {
  return now - times.last > ms;
}

/** Where a fast drag puts a slider at animation frame ``frame``: back and forth over the middle 60% of its range. */
export function dragValue(low, high, frame) {
  return low + (high - low) * (0.2 + 0.6 * Math.abs(Math.sin(frame / 40)));
}

/** The mean milliseconds per call of ``calls`` awaited calls of ``call``, one after another, timed by ``clock()``. */
export async function meanCallMs(call, calls, clock) {
  const start = clock();
  for (let i = 0; i < calls; i++) await call();
  return (clock() - start) / calls;
}

/**
 * Move slider ``index`` once every animation frame for ``seconds``, as a fast drag does: the range's
 * value changes and it fires ``input``. Resolves to [start, end] in page time.
 */
function drag(window, index, seconds) {
  const range = window.document.querySelectorAll('.latent input[type=range]')[index];
  const [low, high] = [Number(range.min), Number(range.max)];
  const start = window.performance.now();
  let frame = 0;
  return new Promise((done) => {
    const step = () => {
      const at = window.performance.now();
      if (at - start >= seconds * 1000) return done([start, at]);
      range.value = String(dragValue(low, high, frame));
      range.dispatchEvent(new window.Event('input', {bubbles: true}));
      frame += 1;
      window.requestAnimationFrame(step);
    };
    window.requestAnimationFrame(step);
  });
}

/** Record the page's events from now on, and answer the benchmark at ``window.vaeportProbe``. */
export function installProbe(window) {
  const {document} = window;
  const times = newTimes();
  const clock = () => window.performance.now();
  const afterReadouts = (callback) => {
    const readouts = new window.MutationObserver(() => {
      callback();
      readouts.disconnect();
    });
    for (const output of document.querySelectorAll('.latent output')) {
      readouts.observe(output, {childList: true, subtree: true, characterData: true});
    }
  };
  const flush = (map) => map.querySelector('canvas').getContext('2d').getImageData(0, 0, 1, 1);
  const record = recorder(times, {clock, afterFrame: (callback) => window.requestAnimationFrame(callback), afterReadouts, flush});
  document.addEventListener('input', record.input, true);
  document.addEventListener('vaeport:painted', record.painted);
  document.addEventListener('vaeport:encoded', record.encoded);
  document.addEventListener('vaeport:map-drawn', record.mapDrawn);
  for (const name of ['pointerdown', 'pointermove', 'pointerup', 'click']) document.addEventListener(name, record[name], true);
  const root = () => document.querySelector('[data-engine]');
  const status = () => document.querySelector('.status')?.textContent ?? '';
  new window.MutationObserver(() => record.root(root(), status())).observe(document, {
    subtree: true,
    attributes: true,
    attributeFilter: ['data-engine', 'data-browser'],
  });
  const statusLine = new window.MutationObserver(() => {
    record.root(root(), status());
    if (times.progress !== null || times.ready !== null) statusLine.disconnect();
  });
  statusLine.observe(document, {subtree: true, childList: true, characterData: true});

  let model = null;
  window.vaeportProbe = {
    times: () => times,
    paintOfInput: (index, paintsBefore) => paintOfInput(times, index, paintsBefore),
    settledClick: (index) => settledClick(times, index),
    quietFor: (ms) => quietFor(times, clock(), ms),
    /** Whether the browser engine is ready or has failed (``data-browser`` on the page's root). */
    engineSettled: () => ['ready', 'failed'].includes(root()?.dataset.browser),
    drag: (index, seconds) => drag(window, index, seconds),
    /**
     * Load the model that ``located`` (``write_assets``' answer) describes, from the folder at URL
     * ``assets``, with the page's own code: the same files, checks and onnxruntime-web set-up as
     * the demo's browser engine. Resolves to the engine's label and the precision it runs.
     */
    async loadEngine(assets, located) {
      const base = new URL(assets, document.baseURI);
      const {loadBrowserEngine} = await import(new URL(located.page, base).href);
      const engine = await loadBrowserEngine(located.browser, base);
      model = engine.model;
      return {label: engine.label, precision: model.precision};
    },
    /** The mean milliseconds of ``calls`` calls of the loaded model's ``part`` ("decode" or "encode") on ``input``. */
    timeCalls(part, input, calls) {
      const data = Float32Array.from(input);
      return meanCallMs(() => model[part](data), calls, clock);
    },
  };
}
