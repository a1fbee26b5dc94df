// The two engines that run the model for the page, with one interface and one result type:
//
// - BrowserEngine runs the graphs in this browser on onnxruntime-web (runtime.mjs);
// - ServerEngine sends each call to the Python server that serves the page (Gradio's server
//   functions, ui/handlers.py's ``page_*`` methods), which answers in the same form.
//
// Every call that puts a latent vector on the sliders (decode, draw, sample, prior) answers a
// LatentResult:
//
//   {values, pixels, ms, mu, logvar, seen}
//
// ``values``: z as slider positions (clipped to each slider's range, rounded to its step), ``pixels``:
// the grey bytes of the digit decoded from exactly those values, ``ms``: that decode's time; from a
// posterior (a drawing, a tile) also its ``mu`` and ``logvar``; from a drawing also ``seen``, the grey
// bytes of what the encoder saw. A drawing with no ink answers ``{empty: true}``. ``morph`` answers
// ``{frames}``, the grey bytes of each frame.

import {EmptyDrawingError, createRandom, interpolate, loadModel, samplePosterior, setUpWasm} from './runtime.mjs';
import {fromBase64, toBase64, toBytes} from './dom.mjs';

/** An error the server answered with (``{error}``): the visitor's to see, never a reason to switch engines. */
export class VisitorError extends Error {
  name = 'VisitorError';
}

/** The model in this browser, on onnxruntime-web; ``toSliders(z)`` puts z on the sliders' grid. */
export class BrowserEngine {
  kind = 'browser';

  constructor(model, version, toSliders) {
    this.model = model;
    this.toSliders = toSliders;
    this.random = createRandom();
    this.label = `in this browser: onnxruntime-web ${version} (wasm)`;
  }

  async decode(z) {
    const values = this.toSliders(z);
    const started = performance.now();
    const image = await this.model.decode(values);
    return {values, pixels: toBytes(image), ms: performance.now() - started};
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
    return {...(await this.decode(mu)), mu, logvar, seen: toBytes(seen)};
  }

  async sample(digit) {
    const {mu, logvar} = this.example(digit);
    return {...(await this.decode(samplePosterior(mu, logvar, this.random))), mu, logvar};
  }

  async prior() {
    return this.decode(this.model.prior.sample(this.random));
  }

  async morph(first, second, steps) {
    const path = interpolate(this.example(first).mu, this.example(second).mu, steps);
    const images = await this.model.decode(path, steps);
    const size = images.length / steps;
    return {frames: Array.from({length: steps}, (_, s) => toBytes(images.subarray(s * size, (s + 1) * size)))};
  }

  example(digit) {
    return this.model.manifest.examples.find((example) => example.digit === digit);
  }
}

/** The model on the Python server, through the page's server functions (``server.<name>(argument)``). */
export class ServerEngine {
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

  /** A LatentResult from the server's answer, its images decoded from base64. */
  async latent(name, argument) {
    const reply = await this.call(name, argument);
    if (reply.empty) return reply;
    return {...reply, pixels: fromBase64(reply.pixels), ...(reply.seen && {seen: fromBase64(reply.seen)})};
  }

  decode(z) {
    return this.latent('decode', Array.from(z));
  }

  draw({data, width}) {
    return this.latent('draw', `${width}:${toBase64(data)}`);
  }

  sample(digit) {
    return this.latent('sample', digit);
  }

  prior() {
    return this.latent('prior', null);
  }

  async morph(first, second) {
    const {frames} = await this.call('morph', [first, second]);
    return {frames: frames.map(fromBase64)};
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
 * ``assets``; the browser benchmark loads it this way too, to time single calls. ``toSliders``: how
 * the page puts z on its sliders (by default, z as it is).
 */
export async function loadBrowserEngine({model, precision, ort: ortConfig}, assets, toSliders = (z) => Array.from(z)) {
  const ort = await loadOnnxruntimeWeb({...ortConfig, base: new URL(ortConfig.base, assets)});
  const folder = new URL(model.folder, assets);
  const loaded = await loadModel(ort, {
    read: (name) => fetchBytes(new URL(name, folder)),
    manifestFile: model.manifest,
    precision,
  });
  return new BrowserEngine(loaded, ort.env.versions.web, toSliders);
}
