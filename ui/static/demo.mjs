// The vaeport demo page: a drawing pad, the decoded digit, the latent sliders, example tiles and a
// morph strip, driven by one of two engines with the same interface:
//
// - the browser engine runs the model's graphs in this browser on onnxruntime-web (runtime.mjs):
//   a slider move decodes on the next animation frame, a pad stroke encodes once per frame;
// - the server engine sends each action to the Python server that serves the page (Gradio's
//   server functions), one request at a time, always with the latest values.
//
// The page starts on the server while the browser engine loads, moves to the browser once it is
// ready, and goes back to the server, saying why, if the browser engine cannot start or fails; the
// action that failed is done again on the server. A static site has no server: there the page waits
// for the browser engine. The status line under the digit names the engine and the last decode time.
//
// Every digit shown is decoded from exactly the values on the sliders: values set from code (a
// sample, an encoded drawing) go onto the range inputs first, which round them to the slider's step
// and clip them to its range, and the decoder then reads them back from there. A result that comes
// back after the visitor moved a slider or cleared the pad is dropped: the visitor's hand wins.
//
// For tests and benchmarks, the root element says which engine runs (``data-engine``, and
// ``data-browser`` for the browser engine's state), ``#digit`` and ``#pad`` count the digits
// painted and the drawings encoded (``data-paints``, ``data-encodes``), and the root dispatches a
// ``vaeport:painted`` event (detail: engine, ms) and a ``vaeport:encoded`` event as they happen.

import {EmptyDrawingError, createRandom, interpolate, loadModel, samplePosterior, setUpWasm} from './runtime.mjs';

/** Start the demo in ``root`` (an empty element) with the page ``config`` that the Python side wrote. */
export function start(root, config, server = null) {
  addStylesheet(new URL('demo.css', import.meta.url));
  return new DemoPage(root, config, server);
}

function addStylesheet(href) {
  if (![...document.styleSheets].some((sheet) => sheet.href === href.href)) {
    document.head.append(Object.assign(document.createElement('link'), {rel: 'stylesheet', href: href.href}));
  }
}

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(resolve));

function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

function fromBase64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function toBase64(bytes) {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

/** Float pixels in [0, 1] as grey bytes (to the nearest level; numpy rounds halves to even, so a pixel
 * exactly between two levels may differ by one from the server's). */
function toBytes(image) {
  return Uint8ClampedArray.from(image, (v) => Math.round(v * 255));
}

/** A canvas of the image's own size, painted from grey bytes; CSS enlarges it with crisp pixels. */
function paint(canvas, grey) {
  const context = canvas.getContext('2d');
  const picture = context.createImageData(canvas.width, canvas.height);
  for (let i = 0; i < grey.length; i++) {
    picture.data[4 * i] = picture.data[4 * i + 1] = picture.data[4 * i + 2] = grey[i];
    picture.data[4 * i + 3] = 255;
  }
  context.putImageData(picture, 0, 0);
}

// --- engines ------------------------------------------------------------------------------

/** An error the server answered with (``{error}``): shown, never a reason to switch engines. */
class VisitorError extends Error {}

/** The model in this browser, on onnxruntime-web. */
class BrowserEngine {
  kind = 'browser';

  constructor(model, version) {
    this.model = model;
    this.random = createRandom();
    this.label = `in this browser: onnxruntime-web ${version} (wasm)`;
  }

  async decode(values) {
    const started = performance.now();
    const image = await this.model.decode(values);
    return {pixels: toBytes(image), ms: performance.now() - started};
  }

  async draw(drawing) {
    let seen;
    try {
      seen = this.model.preprocessDrawing(drawing, {ink: 'light'});
    } catch (error) {
      if (error instanceof EmptyDrawingError) return {empty: true};
      throw error;
    }
    const {mu, logvar} = await this.model.encode(seen);
    return {z: mu, mu, logvar, seen: toBytes(seen)};
  }

  async sample(digit) {
    const {mu, logvar} = this.example(digit);
    return {z: samplePosterior(mu, logvar, this.random), mu, logvar};
  }

  async prior() {
    return {z: this.model.prior.sample(this.random)};
  }

  async morph(first, second, steps) {
    const path = interpolate(this.example(first).mu, this.example(second).mu, steps);
    const images = await this.model.decode(path, steps);
    const size = images.length / steps;
    return Array.from({length: steps}, (_, s) => toBytes(images.subarray(s * size, (s + 1) * size)));
  }

  example(digit) {
    return this.model.manifest.examples.find((example) => example.digit === digit);
  }
}

/** The model on the Python server, through the page's server functions. */
class ServerEngine {
  kind = 'server';

  constructor(server, provider) {
    this.server = server;
    this.label = `on the server: ${provider}`;
  }

  async call(name, argument) {
    const reply = await this.server[name](argument);
    if (reply?.error) throw new VisitorError(reply.error);
    return reply;
  }

  async decode(values) {
    const {pixels, ms} = await this.call('decode', Array.from(values));
    return {pixels: fromBase64(pixels), ms};
  }

  async draw({data, width}) {
    const reply = await this.call('draw', `${width}:${toBase64(data)}`);
    if (reply.empty) return reply;
    return {...reply, seen: fromBase64(reply.seen), pixels: fromBase64(reply.pixels)};
  }

  async sample(digit) {
    const reply = await this.call('sample', digit);
    return {...reply, pixels: fromBase64(reply.pixels)};
  }

  async prior() {
    const reply = await this.call('prior', null);
    return {...reply, pixels: fromBase64(reply.pixels)};
  }

  async morph(first, second) {
    const {frames} = await this.call('morph', [first, second]);
    return frames.map(fromBase64);
  }
}

async function fetchBytes(url, integrity) {
  let response;
  try {
    response = await fetch(url, integrity ? {integrity} : {});
  } catch {
    const why = integrity ? `unreachable, or its bytes do not match the pinned ${integrity.slice(0, 14)}…` : 'unreachable';
    throw new Error(`could not fetch ${url} (${why})`);
  }
  if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/**
 * onnxruntime-web's wasm build: the module and its .wasm fetched with their pinned Subresource
 * Integrity, the module imported from those checked bytes, the wasm handed over as bytes, so
 * nothing unchecked runs.
 */
async function loadOnnxruntimeWeb({base, module, wasm}) {
  if (typeof WebAssembly !== 'object') throw new Error('this browser has no WebAssembly');
  const [code, binary] = await Promise.all([
    fetchBytes(new URL(module.file, base), module.integrity),
    fetchBytes(new URL(wasm.file, base), wasm.integrity),
  ]);
  const url = URL.createObjectURL(new Blob([code], {type: 'text/javascript'}));
  let ort;
  try {
    ort = await import(url);
  } finally {
    URL.revokeObjectURL(url);
  }
  return setUpWasm(ort, binary);
}

/**
 * The browser engine on the model that ``write_assets`` (ui/assets.py) laid out under the URL
 * ``assets``; the browser benchmark loads it this way too, to time single calls.
 */
export async function loadBrowserEngine({model, precision, ort: ortConfig}, assets) {
  const ort = await loadOnnxruntimeWeb({...ortConfig, base: new URL(ortConfig.base, assets)});
  const folder = new URL(model.folder, assets);
  const loaded = await loadModel(ort, {
    read: (name) => fetchBytes(new URL(name, folder)),
    manifestFile: model.manifest,
    precision,
  });
  return new BrowserEngine(loaded, ort.env.versions.web);
}

// --- the page -----------------------------------------------------------------------------

class DemoPage {
  constructor(root, config, server) {
    this.root = root;
    this.config = config;
    this.server = server ? new ServerEngine(server, config.server.provider) : null;
    this.note = '';
    this.error = '';
    this.pending = {slide: false, draw: false};
    this.actions = new Map(); // the latest action of each kind, in the order asked for
    this.pumping = false;
    this.inputs = 0; // slider moves and pad clears so far: a result older than the last one is stale
    this.build();
    this.setSliders(config.initial.values);
    this.showDigit(fromBase64(config.initial.pixels), null, null);
    this.startEngine();
  }

  // --- building the page ---

  build() {
    const {config} = this;
    const [height, width] = config.image;
    const canvas = (className, label) => element('canvas', {class: className, width, height, role: 'img', 'aria-label': label});

    this.pad = element('canvas', {class: 'pad-canvas', width: config.pad.side, height: config.pad.side, 'aria-label': 'drawing pad: draw a digit'});
    this.pad.style.width = this.pad.style.height = `${config.pad.side}px`; // one canvas pixel per CSS pixel
    this.seen = canvas('seen', 'what the encoder sees');
    const clear = element('button', {type: 'button', class: 'pad-clear', text: 'Clear'});
    const padPanel = element('section', {class: 'panel pad-panel'}, [
      element('h3', {text: 'Draw a digit'}),
      element('div', {id: 'pad'}, [this.pad]),
      clear,
      element('figure', {class: 'encoder-view empty'}, [
        this.seen,
        element('div', {class: 'hint', text: 'draw a digit on the pad'}),
        element('figcaption', {text: `what the encoder sees (${height}x${width})`}),
      ]),
    ]);

    this.digit = canvas('digit-canvas', 'decoded digit');
    this.status = element('p', {class: 'status', 'aria-live': 'polite'});
    const prior = element('button', {type: 'button', id: 'prior', text: 'Sample from the prior'});
    const reset = element('button', {type: 'button', id: 'reset', text: 'Reset to zero'});
    const digitPanel = element('section', {class: 'panel digit-panel'}, [
      element('h3', {text: 'Decoded digit'}),
      element('div', {id: 'digit'}, [this.digit]),
      this.status,
      element('div', {class: 'buttons'}, [prior, reset]),
    ]);

    this.sliders = config.sliders.map(([low, high], index) => {
      const range = element('input', {type: 'range', min: low, max: high, step: config.step, id: `z${index}-range`});
      const band = element('div', {class: 'band', hidden: ''});
      const readout = element('output', {for: `z${index}-range`});
      const row = element('div', {id: `z${index}`, class: 'latent'}, [
        element('label', {for: `z${index}-range`, text: `z${index}`}),
        element('div', {class: 'track'}, [element('div', {class: 'rail'}, [band]), range]),
        readout,
      ]);
      return {range, band, readout, row, low, high};
    });
    const sliderPanel = element('section', {class: 'panel slider-panel'}, [
      element('h3', {text: 'Latent sliders'}),
      ...this.sliders.map((slider) => slider.row),
    ]);

    this.tiles = element('div', {id: 'tiles', class: 'thumbs'});
    for (const {digit, pixels} of config.tiles) {
      const picture = canvas('', `example ${digit}`);
      paint(picture, fromBase64(pixels));
      this.tiles.append(element('button', {type: 'button', class: 'tile', 'data-digit': digit, title: `sample a ${digit}`}, [picture]));
    }

    const options = () => config.morph.digits.map((digit) => element('option', {value: digit, text: digit}));
    this.morphFrom = element('select', {'aria-label': 'morph from'}, options());
    this.morphTo = element('select', {'aria-label': 'morph to'}, options());
    this.morphFrom.value = config.morph.from;
    this.morphTo.value = config.morph.to;
    this.strip = element('div', {id: 'morph', class: 'thumbs'});
    this.showMorph(config.morph.frames.map(fromBase64));

    this.root.replaceChildren(
      element('div', {class: 'vaeport'}, [
        element('div', {class: 'columns'}, [padPanel, digitPanel, sliderPanel]),
        element('section', {class: 'panel'}, [element('h3', {text: 'Examples: click one to sample from its posterior, a new sample every click'}), this.tiles]),
        element('section', {class: 'panel'}, [
          element('h3', {text: 'Morph from one example to another'}),
          element('div', {class: 'morph'}, [this.morphFrom, this.strip, this.morphTo]),
        ]),
      ]),
    );

    for (const slider of this.sliders) {
      slider.range.addEventListener('input', () => {
        slider.readout.value = slider.range.valueAsNumber.toFixed(config.decimals);
        this.inputs += 1;
        this.request('slide');
      });
    }
    this.drawing(clear);
    this.tiles.addEventListener('click', (event) => {
      const tile = event.target.closest('[data-digit]');
      if (tile) this.act('sample', () => this.sampleTile(Number(tile.dataset.digit)));
    });
    prior.addEventListener('click', () => this.act('sample', () => this.samplePrior()));
    reset.addEventListener('click', () => this.act('sample', () => this.reset()));
    for (const select of [this.morphFrom, this.morphTo]) select.addEventListener('change', () => this.act('morph', () => this.morph()));
  }

  /** The pad: strokes are drawn on the canvas and encoded once per frame while the pen moves. */
  drawing(clear) {
    const {pad, config} = this;
    const ink = pad.getContext('2d');
    const small = Object.assign(document.createElement('canvas'), {width: config.pad.send, height: config.pad.send});
    this.smallInk = small.getContext('2d', {willReadFrequently: true});
    this.smallInk.imageSmoothingQuality = 'high';
    let last = null;
    const blank = () => {
      ink.fillStyle = '#000';
      ink.fillRect(0, 0, pad.width, pad.height);
    };
    const at = (event) => {
      const box = pad.getBoundingClientRect();
      return [((event.clientX - box.left) * pad.width) / box.width, ((event.clientY - box.top) * pad.height) / box.height];
    };
    const strokeTo = (point) => {
      ink.beginPath();
      ink.moveTo(...last);
      ink.lineTo(...point);
      ink.stroke();
      last = point;
      this.request('draw');
    };
    pad.addEventListener('pointerdown', (event) => {
      pad.setPointerCapture(event.pointerId);
      Object.assign(ink, {strokeStyle: '#fff', lineWidth: config.pad.brush, lineCap: 'round', lineJoin: 'round'});
      last = at(event);
      strokeTo(last);
    });
    pad.addEventListener('pointermove', (event) => {
      if (!last) return;
      for (const sample of event.getCoalescedEvents?.() ?? [event]) strokeTo(at(sample));
    });
    for (const name of ['pointerup', 'pointercancel']) pad.addEventListener(name, () => (last = null));
    clear.addEventListener('click', () => {
      blank();
      this.inputs += 1;
      this.pending.draw = false;
      this.showSeen(null);
    });
    blank();
  }

  // --- engines ---

  /**
   * Load the browser engine and move to it. ``data-engine`` on the page's root says which engine
   * runs the model (browser, server, or none yet), ``data-browser`` how the browser engine is
   * doing (off, loading, ready, failed).
   */
  async startEngine() {
    const {browser} = this.config;
    this.setEngine(this.server, browser ? 'loading' : 'off');
    if (!browser) {
      this.note = 'in-browser inference is off';
      this.showStatus();
      return;
    }
    this.note = 'loading the model in this browser…';
    this.showStatus();
    let engine;
    try {
      engine = await loadBrowserEngine(browser, new URL(this.config.assets, document.baseURI));
    } catch (error) {
      this.giveUpOnBrowser(`the browser engine could not start: ${error.message}`);
      return;
    }
    this.note = '';
    this.setEngine(engine, 'ready');
    this.request('slide'); // the digit of the sliders as they are now, from the new engine
  }

  setEngine(engine, browserState) {
    this.engine = engine;
    this.root.dataset.engine = engine?.kind ?? 'none';
    this.root.dataset.browser = browserState;
  }

  giveUpOnBrowser(reason) {
    this.setEngine(this.server, 'failed');
    this.note = this.server ? reason : `${reason}; this page needs the model in the browser`;
    this.showStatus();
    console.warn(`vaeport: ${reason}`);
  }

  /**
   * ``[await work(engine), engine]``; when the browser engine fails, move to the server and run
   * ``work`` there, so the visitor's action is not lost.
   */
  async withEngine(work) {
    const engine = this.engine;
    if (!engine) throw new Error('no engine can run the model');
    try {
      return [await work(engine), engine];
    } catch (error) {
      if (engine.kind !== 'browser' || error instanceof VisitorError) throw error;
      this.giveUpOnBrowser(`the browser engine failed: ${error.message}`);
      if (!this.engine) throw error;
      return [await work(this.engine), this.engine];
    }
  }

  // --- scheduling: one action at a time, slides and strokes coalesced to one per frame ---

  request(kind) {
    this.pending[kind] = true;
    this.pump();
  }

  /** Queue ``action``; a newer one of the same ``kind`` takes its place (ten clicks on a slow server, one sample). */
  act(kind, action) {
    this.actions.delete(kind);
    this.actions.set(kind, action);
    this.pump();
  }

  async pump() {
    if (this.pumping || !this.engine) return;
    this.pumping = true;
    try {
      while (this.engine) {
        await nextFrame();
        const action = this.takeAction() ?? this.takePending();
        if (!action) break;
        try {
          await action();
          this.error = '';
        } catch (error) {
          this.error = error.message;
        }
        this.showStatus();
      }
    } finally {
      this.pumping = false;
    }
  }

  takeAction() {
    const [kind, action] = this.actions.entries().next().value ?? [];
    this.actions.delete(kind);
    return action;
  }

  takePending() {
    if (this.pending.draw) {
      this.pending.draw = this.pending.slide = false;
      return () => this.encodeDrawing();
    }
    if (this.pending.slide) {
      this.pending.slide = false;
      return () => this.decodeSliders();
    }
    return null;
  }

  // --- what each action does ---

  async decodeSliders() {
    const values = this.sliderValues();
    const [{pixels, ms}, engine] = await this.withEngine((engine) => engine.decode(values));
    this.showDigit(pixels, ms, engine);
  }

  async encodeDrawing() {
    this.smallInk.drawImage(this.pad, 0, 0, this.config.pad.send, this.config.pad.send);
    const side = this.config.pad.send;
    const rgba = this.smallInk.getImageData(0, 0, side, side).data;
    const grey = new Uint8Array(side * side);
    for (let i = 0; i < grey.length; i++) grey[i] = rgba[4 * i];
    const inputs = this.inputs;
    const [result, engine] = await this.withEngine((engine) => engine.draw({data: grey, width: side, height: side}));
    if (inputs !== this.inputs) return; // the pad was cleared, or a slider moved, meanwhile
    if (result.empty) {
      this.showSeen(null);
      return;
    }
    this.showSeen(result.seen);
    await this.showLatent(result, engine);
    this.pad.parentElement.dataset.encodes = String(Number(this.pad.parentElement.dataset.encodes ?? 0) + 1);
    this.root.dispatchEvent(new CustomEvent('vaeport:encoded', {bubbles: true}));
  }

  async sampleTile(digit) {
    const inputs = this.inputs;
    const [result, engine] = await this.withEngine((engine) => engine.sample(digit));
    if (inputs === this.inputs) await this.showLatent(result, engine);
  }

  async samplePrior() {
    const inputs = this.inputs;
    const [result, engine] = await this.withEngine((engine) => engine.prior());
    if (inputs === this.inputs) await this.showLatent(result, engine);
  }

  async reset() {
    await this.showLatent({z: new Array(this.sliders.length).fill(0)}, this.engine);
  }

  async morph() {
    const [first, second] = [Number(this.morphFrom.value), Number(this.morphTo.value)];
    const [frames] = await this.withEngine((engine) => engine.morph(first, second, this.config.morph.steps));
    this.showMorph(frames);
  }

  /**
   * Put a result on the sliders and show its digit: ``z`` (or the server's ``values``), the
   * posterior's ``mu`` and ``logvar`` as a band on each slider when it came from one, and the
   * digit decoded from the sliders (or the server's ``pixels``, decoded from the same values).
   */
  async showLatent({z, values, mu, logvar, pixels, ms}, engine) {
    this.setSliders(values ?? z);
    this.showBands(mu, logvar);
    if (pixels) {
      this.showDigit(pixels, ms, engine);
    } else {
      await this.decodeSliders();
    }
  }

  // --- what the page shows ---

  /** The sliders' values as they show them (the browser engine runs them in float32, the server in float64). */
  sliderValues() {
    return this.sliders.map((slider) => slider.range.valueAsNumber);
  }

  /** Values onto the range inputs, which round them to the step and clip them to the range. */
  setSliders(values) {
    this.sliders.forEach((slider, index) => {
      slider.range.value = String(values[index]);
      slider.readout.value = slider.range.valueAsNumber.toFixed(this.config.decimals);
    });
  }

  /** The posterior mu +- sigma on each slider, or no band at all. */
  showBands(mu, logvar) {
    this.sliders.forEach(({band, low, high}, index) => {
      band.hidden = !mu;
      if (!mu) return;
      const sigma = Math.exp(0.5 * logvar[index]);
      const left = Math.max(0, (mu[index] - sigma - low) / (high - low));
      const right = Math.min(1, (mu[index] + sigma - low) / (high - low));
      band.style.left = `${100 * left}%`;
      band.style.width = `${100 * Math.max(0, right - left)}%`;
    });
  }

  /** Paint a digit that ``engine`` (null: the page's first one, from its configuration) decoded in ``ms``. */
  showDigit(pixels, ms, engine) {
    paint(this.digit, pixels);
    if (engine) this.last = {engine, ms};
    const holder = this.digit.parentElement;
    holder.dataset.paints = String(Number(holder.dataset.paints ?? 0) + 1);
    this.root.dispatchEvent(new CustomEvent('vaeport:painted', {bubbles: true, detail: {engine: engine?.kind ?? 'page', ms}}));
    this.showStatus();
  }

  showSeen(pixels) {
    this.seen.parentElement.classList.toggle('empty', !pixels);
    if (pixels) paint(this.seen, pixels);
  }

  showMorph(frames) {
    this.strip.replaceChildren(
      ...frames.map((pixels, index) => {
        const frame = element('canvas', {width: this.config.image[1], height: this.config.image[0], role: 'img', 'aria-label': `frame ${index}`});
        paint(frame, pixels);
        return frame;
      }),
    );
  }

  /**
   * The engine and the last decode time, then in brackets why the page is not where it would be
   * (``note``), then what went wrong with the last action, until one succeeds (``error``).
   */
  showStatus() {
    const parts = [];
    if (this.engine) parts.push(this.engine.label);
    if (this.engine && this.last?.engine === this.engine) parts.push(`last decode ${this.last.ms.toFixed(2)} ms`);
    let text = parts.join(' · ');
    if (this.note) text = text ? `${text} (${this.note})` : this.note;
    if (this.error) text = `${text} — ${this.error}`;
    this.status.textContent = text;
  }
}
