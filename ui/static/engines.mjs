// The two engines that run the model for the page, with one interface and one result type:
//
// - BrowserEngine runs the graphs in this browser on onnxruntime-web (runtime.mjs);
// - ServerEngine sends each call to the Python server that serves the page (Gradio's server
//   functions, ui/handlers.py's ``page_*`` methods), which answers in the same form.
//
// Every call that puts a latent vector on the sliders (decode, draw, sample, prior) answers a
// LatentResult:
//
//   {values, pixels, ms, figures, mu, logvar, seen}
//
// ``values``: z as slider positions (clipped to each slider's range, rounded to its step), ``pixels``:
// the grey bytes of the digit decoded from exactly those values, ``ms``: that decode's time;
// ``figures``: the readout's, in nats, at the ``z`` they name: for an image (a drawing, an
// example's test digit) ``recon_bce``, ``kl``, ``neg_elbo`` and ``log_pz``, else ``log_pz`` alone. From a
// posterior (a drawing, a tile) also its ``mu`` and ``logvar``; from a drawing also ``seen``, the grey
// bytes of what the encoder saw. A drawing with no ink answers ``{empty: true}``. ``morph`` answers
// ``{frames}``, the grey bytes of each frame.

import {Downloads} from './progress.mjs';
import {EmptyDrawingError, createRandom, fetchStreamed, interpolate, loadModel, samplePosterior, setUpWasm} from './runtime.mjs';
import {fromBase64, toBase64, toBytes} from './dom.mjs';

/** An error the server answered with (``{error}``): the visitor's to see, never a reason to switch engines. */
export class VisitorError extends Error {
  name = 'VisitorError';
}

const ELBO_FIGURES = ['recon_bce', 'kl', 'neg_elbo', 'log_pz', 'z'];

/**
 * The model in this browser, on onnxruntime-web. ``toSliders(z)`` puts z on the sliders' grid;
 * a tile's figures are those of its example's test digit, whose pixels the manifest holds.
 */
export class BrowserEngine {
  kind = 'browser';

  constructor(model, version, {toSliders = (z) => Array.from(z)} = {}) {
    this.model = model;
    this.toSliders = toSliders;
    this.random = createRandom();
    this.label = `in this browser: onnxruntime-web ${version} (wasm, ${model.precision})`;
  }

  /** Whether ``role``'s graph ("encoder" or "decoder") is in: the decoder comes first, the encoder after. */
  has(role) {
    return this.model.has(role);
  }

  /**
   * ``z`` on the sliders and its digit; the figures of ``image``, whose posterior is ``posterior``
   * (``{mu, logvar}``), at ``at`` (by default the values), else log p.
   */
  async decode(z, {image = null, posterior = null, at = null} = {}) {
    const values = this.toSliders(z);
    const started = performance.now();
    const pixels = toBytes(await this.model.decode(values));
    const ms = performance.now() - started;
    const figures = image ? await this.model.elbo(image, Float32Array.from(at ?? values), posterior) : null;
    return {
      values,
      pixels,
      ms,
      figures: figures ? Object.fromEntries(ELBO_FIGURES.map((name) => [name, figures[name]])) : this.logPrior(values),
    };
  }

  logPrior(values) {
    const z = Float32Array.from(values);
    return {log_pz: this.model.prior.logProb(z), z};
  }

  /** A drawing and the stroke's standard normal ``noise``: its figures are taken at z = mu + sigma * noise. */
  async draw(drawing, noise) {
    let seen;
    try {
      seen = this.model.preprocessDrawing(drawing, {ink: 'light'});
    } catch (error) {
      if (error instanceof EmptyDrawingError) return {empty: true};
      throw error;
    }
    const {mu, logvar} = await this.model.encode(seen);
    const z = Float32Array.from(mu, (m, j) => m + Math.exp(0.5 * logvar[j]) * noise[j]);
    return {...(await this.decode(mu, {image: seen, posterior: {mu, logvar}, at: z})), mu, logvar, seen: toBytes(seen)};
  }

  /** A sample of example ``digit``'s posterior, with its test digit's figures: the manifest holds that
   * digit and its posterior, so the decoder alone answers. */
  async sample(digit) {
    const {mu, logvar, pixels} = this.example(digit);
    const image = Float32Array.from(fromBase64(pixels), (byte) => byte / 255);
    const z = samplePosterior(mu, logvar, this.random);
    return {...(await this.decode(z, {image, posterior: {mu, logvar}})), mu, logvar};
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

  draw({data, width}, noise) {
    return this.latent('draw', {pixels: `${width}:${toBase64(data)}`, noise: Array.from(noise)});
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

/**
 * onnxruntime-web's wasm build: the module and its .wasm streamed in (``downloads`` counts their bytes)
 * and checked against their pinned Subresource Integrity, the module imported from those checked
 * bytes, the wasm handed over as bytes, so nothing unchecked runs.
 */
async function loadOnnxruntimeWeb({base, module, wasm}, downloads) {
  if (typeof WebAssembly !== 'object') throw new Error('this browser has no WebAssembly');
  const [code, binary] = await Promise.all(
    Object.entries({module, wasm}).map(([part, {file, integrity}]) =>
      fetchStreamed(new URL(file, base), {integrity, onProgress: downloads.track(part)}),
    ),
  );
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
 * ``assets``, with the page's ``options`` (see BrowserEngine) and ``manifest``, the manifest's bytes
 * when the page fetched them already (a promise). ``onProgress({received, total})`` follows the
 * downloads (progress.mjs) from before the first byte, against the sizes of onnxruntime-web's files and
 * of the graphs (``model.graphs``: ``{file: bytes}``).
 *
 * onnxruntime-web and the decoder come first: ``onDecoder(engine)`` hands over the engine as soon as
 * they are in, for everything but the pad; the encoder comes next, and the promise resolves to the
 * same engine once it is in too. The browser benchmark loads it this way too, to time single calls.
 */
export async function loadBrowserEngine(
  {model, precision, ort: ortConfig},
  assets,
  {manifest, onProgress = () => {}, onDecoder = () => {}, ...options} = {},
) {
  const downloads = new Downloads({module: ortConfig.module.bytes, wasm: ortConfig.wasm.bytes, ...model.graphs}, onProgress);
  onProgress(downloads.progress());
  const ort = await loadOnnxruntimeWeb({...ortConfig, base: new URL(ortConfig.base, assets)}, downloads);
  const folder = new URL(model.folder, assets);
  const read = (name) =>
    name === model.manifest
      ? (manifest ?? fetchStreamed(new URL(name, folder)))
      : fetchStreamed(new URL(name, folder), {onProgress: downloads.track(name)});
  const loaded = await loadModel(ort, {read, manifestFile: model.manifest, precision, roles: ['decoder']});
  const engine = new BrowserEngine(loaded, ort.env.versions.web, options);
  onDecoder(engine);
  await loaded.loadGraph('encoder', read);
  return engine;
}
