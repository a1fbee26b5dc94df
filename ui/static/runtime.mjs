// vaeport's browser runtime: the browser's counterpart of the Python package vaeport.runtime.
//
// It loads a model folder's manifest.json and the encoder and decoder graphs of one precision,
// checks the manifest by the rules of vaeport.runtime.manifest (the same verdict on every manifest,
// naming the same key), refuses any graph whose SHA-256 differs from the manifest's, checks the
// graphs' inputs, outputs and latent size against the manifest, and then offers encode, decode,
// drawing preprocessing, sampling (from a digit's posterior and from the model's prior),
// interpolation, the prior's log-density, each image's ELBO and the latent map.
//
// What the model is about (latent size, examples, the prior) is read from the manifest, which must
// follow the ONNX contract (CONTRACT: image shape, file, input and output names). onnxruntime-web is
// passed in, so the same module runs in the page (onnxruntime-web from a CDN or a local copy) and
// in Node's tests. It touches no DOM.

export class ModelError extends Error {
  name = 'ModelError';
}
export class ModelIntegrityError extends ModelError {
  name = 'ModelIntegrityError';
}
export class ManifestMismatchError extends ModelError {
  name = 'ManifestMismatchError';
}
export class InputError extends Error {
  name = 'InputError';
}
export class EmptyDrawingError extends InputError {
  name = 'EmptyDrawingError';
}
export class InferenceError extends Error {
  name = 'InferenceError';
}

export const WEIGHT_SUM_TOLERANCE = 1e-6; // how far a prior's weights may miss summing to 1, as in vaeport.runtime.prior
// The latent map's points store one byte per dimension, and its axes may miss being orthonormal by
// this much, as in vaeport.runtime.latent_map.
export const MAP_LEVELS = 255;
export const MAP_ORTHONORMAL_TOLERANCE = 1e-6;
export const ELBO_LOG_FLOOR = -100; // log(0) counts as -100 in the reconstruction's BCE, as in vaeport.runtime.elbo
const LOG_2PI = Math.log(2 * Math.PI);

/**
 * The ONNX contract (vaeport.contract) and the manifest's free-form records (RECORDS of
 * vaeport.runtime.manifest): a test holds them equal to Python's.
 */
export const CONTRACT = {
  FORMAT_VERSION: 1,
  IMAGE_SHAPE: [1, 28, 28],
  BATCH_DIM: 'N',
  DIGITS: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  ENCODER_INPUT: 'image',
  ENCODER_OUTPUTS: ['mu', 'logvar'],
  DECODER_INPUT: 'z',
  DECODER_OUTPUT: 'image',
  GRAPH_FILES: {
    fp32: {encoder: 'encoder.onnx', decoder: 'decoder.onnx'},
    int8: {encoder: 'encoder.int8.onnx', decoder: 'decoder.int8.onnx'},
  },
  RECORDS: ['dataset', 'evaluation', 'quantization', 'training', 'versions'],
};
const ROLES = ['encoder', 'decoder'];

/** Input and output names and shapes of both graphs, as the manifest's ``io`` records them (graph_io in Python). */
export function graphIo(latentDim) {
  const {BATCH_DIM, IMAGE_SHAPE, ENCODER_INPUT, ENCODER_OUTPUTS, DECODER_INPUT, DECODER_OUTPUT} = CONTRACT;
  const image = [BATCH_DIM, ...IMAGE_SHAPE];
  const latent = [BATCH_DIM, latentDim];
  return {
    encoder: {inputs: {[ENCODER_INPUT]: image}, outputs: Object.fromEntries(ENCODER_OUTPUTS.map((name) => [name, latent]))},
    decoder: {inputs: {[DECODER_INPUT]: latent}, outputs: {[DECODER_OUTPUT]: image}},
  };
}

/** Hex SHA-256 of bytes, with Web Crypto (in the page and in Node alike). */
export async function sha256Hex(bytes) {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

const SRI_DIGESTS = {sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512'};

/**
 * The bytes at ``url``, read as they stream in: ``onProgress(received)`` after each chunk, with the
 * bytes received so far (decoded: a compressed response counts what it decompresses to). With
 * ``integrity`` (Subresource Integrity, such as "sha384-<base64>"), the bytes are checked against it
 * before they are returned: here, and not by fetch's own ``integrity`` option, which holds back the
 * whole body until its last byte has come and so shows no progress.
 */
export async function fetchStreamed(url, {integrity = null, onProgress = () => {}} = {}) {
  let response;
  try {
    response = await fetch(url);
  } catch {
    throw new ModelError(`could not fetch ${url} (unreachable)`);
  }
  if (!response.ok) throw new ModelError(`${url} answered HTTP ${response.status}`);
  const chunks = [];
  let received = 0;
  const reader = response.body.getReader();
  for (let part = await reader.read(); !part.done; part = await reader.read()) {
    chunks.push(part.value);
    received += part.value.length;
    onProgress(received);
  }
  const bytes = new Uint8Array(received);
  chunks.reduce((offset, chunk) => (bytes.set(chunk, offset), offset + chunk.length), 0);
  if (integrity) await checkIntegrity(bytes, integrity, url);
  return bytes;
}

/** ``bytes`` must have the digest a Subresource Integrity string pins, else ``ModelIntegrityError``. */
export async function checkIntegrity(bytes, integrity, what) {
  const [, algorithm, expected] = /^(sha256|sha384|sha512)-(.+)$/.exec(integrity) ?? [];
  if (!algorithm) throw new InputError(`integrity must be "sha256-", "sha384-" or "sha512-" and a base64 digest; got ${describe(integrity)}`);
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest(SRI_DIGESTS[algorithm], bytes));
  const actual = btoa(String.fromCharCode(...digest));
  if (actual !== expected) {
    throw new ModelIntegrityError(`${what} has ${algorithm} ${actual}, not the pinned ${expected}: it is not the file this page was built for`);
  }
}

function describe(value) {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);
const isCount = (value) => Number.isInteger(value) && value >= 1;

function isVector(value, length) {
  return Array.isArray(value) && value.length === length && value.every((x) => typeof x === 'number' && Number.isFinite(x));
}

/** The bytes of base64 ``text``; null when it is not base64 text. */
export function base64Bytes(text) {
  if (typeof text !== 'string' || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** Equal as JSON values, whatever the order of object keys. */
function sameJson(value, expected) {
  if (Array.isArray(value) && Array.isArray(expected)) {
    return value.length === expected.length && value.every((item, index) => sameJson(item, expected[index]));
  }
  if (isObject(value) && isObject(expected)) {
    const keys = Object.keys(value);
    return keys.length === Object.keys(expected).length && keys.every((key) => Object.hasOwn(expected, key) && sameJson(value[key], expected[key]));
  }
  return value === expected;
}

/**
 * What the manifest describes, ``{prior, latentMap}`` (latentMap null without a ``map`` section), once
 * every key of ``manifest`` is checked; else a ModelError (a
 * ManifestMismatchError for ``io``) naming the first key that is missing or malformed. The rules
 * are vaeport.runtime.manifest's, and both runtimes run the manifests of tests/fixtures/manifests.
 * ``where`` names the file in messages.
 */
export function checkManifest(manifest, where = 'manifest.json') {
  if (!isObject(manifest) || Object.keys(manifest).length === 0) {
    throw new ModelError(`${where} is empty or not a JSON object; expected a vaeport manifest`);
  }
  const {FORMAT_VERSION, IMAGE_SHAPE, RECORDS} = CONTRACT;
  if (manifest.format_version !== FORMAT_VERSION) {
    throw new ModelError(`${where} has format_version ${describe(manifest.format_version)}; this vaeport reads format_version ${FORMAT_VERSION}`);
  }
  const d = manifest.latent_dim;
  if (!isCount(d)) throw new ModelError(`${where} has latent_dim ${describe(d)}; expected a positive whole number`);
  if (!sameJson(manifest.image_shape, IMAGE_SHAPE)) {
    throw new ModelError(`${where} has image_shape ${describe(manifest.image_shape)}; expected ${describe(IMAGE_SHAPE)}`);
  }
  const io = graphIo(d);
  if (!sameJson(manifest.io, io)) {
    throw new ManifestMismatchError(`${where} has io ${describe(manifest.io)}; with its latent_dim ${d} the contract expects ${describe(io)}`);
  }
  checkGraphs(manifest.graphs, where);
  checkLatentStats(manifest.latent_stats, d, where);
  checkExamples(manifest.examples, d, where);
  if (Object.hasOwn(manifest, 'metrics')) checkMetrics(manifest.metrics, where);
  for (const key of RECORDS) {
    if (Object.hasOwn(manifest, key) && !isObject(manifest[key])) {
      throw new ModelError(`${where} has ${key} ${describe(manifest[key])}; expected a JSON object`);
    }
  }
  return {prior: Prior.fromManifest(manifest, where), latentMap: LatentMap.fromManifest(manifest, where)};
}

/** ``graphs.<precision>.<role>``: the contract's file name, a hex SHA-256 and a size in bytes, for each precision there. */
function checkGraphs(graphs, where) {
  const precisions = Object.keys(CONTRACT.GRAPH_FILES);
  if (!isObject(graphs) || !precisions.some((precision) => Object.hasOwn(graphs, precision))) {
    throw new ModelError(`${where} has no graphs section; expected graphs.<precision>.<role> with file, sha256 and bytes`);
  }
  for (const precision of precisions.filter((name) => Object.hasOwn(graphs, name))) {
    for (const role of ROLES) {
      const key = `graphs.${precision}.${role}`;
      const entry = isObject(graphs[precision]) ? graphs[precision][role] : undefined;
      if (!isObject(entry)) throw new ModelError(`${where} records no ${key}; expected an object with file, sha256 and bytes`);
      const file = CONTRACT.GRAPH_FILES[precision][role];
      if (entry.file !== file) throw new ModelError(`${where} has ${key}.file ${describe(entry.file)}; expected "${file}"`);
      if (typeof entry.sha256 !== 'string' || !/^[0-9a-f]{64}$/i.test(entry.sha256)) {
        throw new ModelError(`${where} has ${key}.sha256 ${describe(entry.sha256)}; expected 64 hexadecimal digits`);
      }
      if (!isCount(entry.bytes)) {
        throw new ModelError(`${where} has ${key}.bytes ${describe(entry.bytes)}; expected the file size, a positive whole number`);
      }
    }
  }
}

/** Per-dimension statistics of mu over the test set; ``min`` and ``max`` set the sliders' ranges. */
function checkLatentStats(stats, d, where) {
  if (!isObject(stats)) throw new ModelError(`${where} has no latent_stats; expected per-dimension statistics of mu (min, max, ...)`);
  for (const name of ['min', 'max']) {
    if (!Object.hasOwn(stats, name)) throw new ModelError(`${where} has no latent_stats.${name}; expected ${d} numbers, one per latent dimension`);
  }
  for (const [name, values] of Object.entries(stats)) {
    if (!isVector(values, d)) {
      throw new ModelError(`${where} has latent_stats.${name} ${describe(values)}; expected ${d} finite numbers, one per latent dimension`);
    }
  }
  stats.min.forEach((low, index) => {
    if (low > stats.max[index]) {
      throw new ModelError(`${where} has latent_stats.min[${index}] = ${low} above latent_stats.max[${index}] = ${stats.max[index]}`);
    }
  });
}

/** One test digit per class, each of CONTRACT.DIGITS once, with the posterior ``mu`` and ``logvar`` of length D. */
function checkExamples(examples, d, where) {
  const {DIGITS} = CONTRACT;
  const span = `${DIGITS[0]}-${DIGITS.at(-1)}`;
  if (!Array.isArray(examples) || examples.length !== DIGITS.length) {
    throw new ModelError(`${where} has examples ${describe(examples)}; expected a list of ${DIGITS.length}, one per digit ${span}`);
  }
  examples.forEach((example, index) => {
    const key = `examples[${index}]`;
    if (!isObject(example)) throw new ModelError(`${where} has ${key} ${describe(example)}; expected an object with digit, mu and logvar`);
    if (!DIGITS.includes(example.digit)) throw new ModelError(`${where} has ${key}.digit ${describe(example.digit)}; expected a digit ${span}`);
    for (const name of ['mu', 'logvar']) {
      if (!isVector(example[name], d)) throw new ModelError(`${where} has ${key}.${name} ${describe(example[name])}; expected ${d} finite numbers`);
    }
    const pixels = CONTRACT.IMAGE_SHAPE.reduce((a, b) => a * b, 1);
    if (base64Bytes(example.pixels)?.length !== pixels) {
      throw new ModelError(
        `${where} has ${key}.pixels ${describe(example.pixels)}; expected base64 text of the test digit's ${pixels} grey bytes (vaeport derive MODEL_DIR writes them into an older model folder)`,
      );
    }
  });
  const digits = examples.map((example) => example.digit);
  if (!sameJson([...digits].sort((a, b) => a - b), DIGITS)) {
    throw new ModelError(`${where} has examples of digits ${describe(digits)}; expected each digit ${span} once`);
  }
}

/** Test-set figures per precision: ``metrics.<precision>.<name>`` numbers (the key may be left out). */
function checkMetrics(metrics, where) {
  if (!isObject(metrics) || Object.keys(metrics).length === 0) {
    throw new ModelError(`${where} has metrics ${describe(metrics)}; expected an object of figures per precision`);
  }
  for (const [precision, values] of Object.entries(metrics)) {
    if (!isObject(values) || !isVector(Object.values(values), Object.keys(values).length)) {
      throw new ModelError(`${where} has metrics.${precision} ${describe(values)}; expected an object of finite numbers`);
    }
  }
}

/** The input and output names of ``session`` must be the contract's, and every fixed dimension its size. */
function checkGraph(session, role, file, latentDim) {
  const io = graphIo(latentDim)[role];
  for (const [kind, names, metadata] of [
    ['inputs', session.inputNames, session.inputMetadata],
    ['outputs', session.outputNames, session.outputMetadata],
  ]) {
    const expected = Object.keys(io[kind]);
    if (names.join() !== expected.join()) {
      throw new ManifestMismatchError(`${file} has ${kind} ${describe(names)}; the manifest and the contract expect ${describe(expected)}`);
    }
    for (const [index, name] of names.entries()) {
      const want = io[kind][name];
      const {shape, type} = metadata?.[index] ?? {};
      if (!shape) continue; // onnxruntime-web builds without metadata: running the graph checks the sizes
      if (type !== 'float32') {
        throw new ManifestMismatchError(`${file} ${kind.slice(0, -1)} '${name}' holds ${type}; the contract expects float32`);
      }
      const fixed = (got, dim) => (typeof dim === 'number' ? got === dim : typeof got !== 'number');
      if (shape.length !== want.length || !shape.every((got, i) => fixed(got, want[i]))) {
        throw new ManifestMismatchError(
          `${file} ${kind.slice(0, -1)} '${name}' has shape ${describe(shape)}; the manifest expects ${describe(want)} ` +
            `(latent_dim ${latentDim}, a symbolic batch dimension)`,
        );
      }
    }
  }
}

/**
 * Set up onnxruntime-web's wasm backend the way this runtime runs it, before the first model loads:
 * one thread (a page needs no cross-origin isolation for it, and one thread is the fastest for one
 * digit) and, when given, the .wasm's bytes, so that onnxruntime-web fetches nothing itself.
 */
export function setUpWasm(ort, wasmBinary = null) {
  ort.env.wasm.numThreads = 1;
  if (wasmBinary) ort.env.wasm.wasmBinary = wasmBinary;
  return ort;
}

/**
 * Load a model folder: ``read(fileName)`` resolves to the bytes of a file in it (a fetch in the page,
 * a file read in Node). ``precision`` is "fp32" or "int8", a precision the manifest's ``graphs`` records.
 * ``roles`` are the graphs to load now, both by default: a page that loads ``['decoder']`` first has
 * its sliders live sooner and adds the encoder with ``model.loadGraph('encoder', read)``.
 */
export async function loadModel(ort, {read, manifestFile = 'manifest.json', precision = 'fp32', roles = ROLES}) {
  const precisions = Object.keys(CONTRACT.GRAPH_FILES);
  if (!precisions.includes(precision)) throw new InputError(`precision must be one of ${describe(precisions)}; got ${describe(precision)}`);
  if (!Array.isArray(roles) || roles.some((role) => !ROLES.includes(role))) {
    throw new InputError(`roles must list graphs among ${describe(ROLES)}; got ${describe(roles)}`);
  }
  let manifest;
  try {
    manifest = JSON.parse(new TextDecoder().decode(await read(manifestFile)));
  } catch (error) {
    throw new ModelError(`${manifestFile} could not be read as JSON (${error.message})`);
  }
  const described = checkManifest(manifest, manifestFile);
  if (!Object.hasOwn(manifest.graphs, precision)) {
    const recorded = Object.keys(manifest.graphs).filter((name) => precisions.includes(name)).sort();
    throw new ModelError(`${manifestFile} records no graphs.${precision}.encoder; it lists precisions ${describe(recorded)}`);
  }
  const model = new VaeModel(ort, manifest, described, precision, manifestFile);
  for (const role of roles) await model.loadGraph(role, read);
  return model;
}

/** A loaded model: its sessions, the manifest they were checked against and the prior and map it describes. */
export class VaeModel {
  constructor(ort, manifest, {prior, latentMap}, precision, manifestFile = 'manifest.json') {
    this.ort = ort;
    this.manifest = manifest;
    this.prior = prior;
    this.latentMap = latentMap;
    this.precision = precision;
    this.manifestFile = manifestFile;
    this.sessions = {};
    this.latentDim = manifest.latent_dim;
    this.io = graphIo(this.latentDim);
    this.imageShape = manifest.image_shape;
    this.pixels = manifest.image_shape.reduce((a, b) => a * b, 1);
  }

  /** Whether ``role``'s graph ("encoder" or "decoder") is loaded. */
  has(role) {
    return Object.hasOwn(this.sessions, role);
  }

  /** Load ``role``'s graph through ``read``, its SHA-256 checked against the manifest before onnxruntime-web sees it. */
  async loadGraph(role, read) {
    if (!ROLES.includes(role)) throw new InputError(`role must be one of ${describe(ROLES)}; got ${describe(role)}`);
    const {file, sha256} = this.manifest.graphs[this.precision][role];
    const bytes = new Uint8Array(await read(file));
    const actual = await sha256Hex(bytes);
    if (actual !== sha256.toLowerCase()) {
      throw new ModelIntegrityError(
        `${file} has SHA-256 ${actual}, but ${this.manifestFile} records ${sha256}: the file was changed or damaged after export`,
      );
    }
    let session;
    try {
      session = await this.ort.InferenceSession.create(bytes);
    } catch (error) {
      throw new ModelError(`onnxruntime-web could not load ${file}: ${error.message}`);
    }
    checkGraph(session, role, file, this.latentDim);
    this.sessions[role] = session;
  }

  async #run(role, feeds) {
    if (!this.has(role)) throw new ModelError(`the ${role} is not loaded yet (${this.manifest.graphs[this.precision][role].file})`);
    const session = this.sessions[role];
    try {
      return await session.run(feeds);
    } catch (error) {
      throw new InferenceError(`onnxruntime-web failed to run ${this.manifest.graphs[this.precision][role].file}: ${error.message}`);
    }
  }

  /** ``images``: n images of the manifest's shape, row by row, in [0, 1] -> {mu, logvar}, each n x D. */
  async encode(images, n = 1) {
    const data = toFloat32(images, n * this.pixels, `images (${n} of ${this.imageShape.join('x')} pixels)`);
    if (data.some((v) => !(v >= 0 && v <= 1))) throw new InputError('images must hold pixels in [0, 1]');
    const [name] = Object.keys(this.io.encoder.inputs);
    const [muName, logvarName] = Object.keys(this.io.encoder.outputs);
    const out = await this.#run('encoder', {[name]: new this.ort.Tensor('float32', data, [n, ...this.imageShape])});
    return {mu: out[muName].data, logvar: out[logvarName].data};
  }

  /** ``z``: n latent vectors of D values -> n images, row by row, in [0, 1]. */
  async decode(z, n = 1) {
    const data = toFloat32(z, n * this.latentDim, `z (${n} latent vector(s) of ${this.latentDim} values)`);
    if (data.some((v) => !Number.isFinite(v))) throw new InputError('z must hold finite numbers');
    const [name] = Object.keys(this.io.decoder.inputs);
    const [output] = Object.keys(this.io.decoder.outputs);
    const out = await this.#run('decoder', {[name]: new this.ort.Tensor('float32', data, [n, this.latentDim])});
    return out[output].data;
  }

  /**
   * The figures of vaeport.runtime.elbo for one ``image`` (the manifest's shape, in [0, 1]) at the
   * latent vector ``z``, in nats, computed in float64 from the graphs' float32 outputs: ``recon_bce``
   * (the decoded probabilities' binary cross-entropy against the image), ``kl`` (log q(z|x) - log p(z),
   * analytic for the standard normal prior), ``neg_elbo`` (their sum) and ``log_pz`` (log p(z) under
   * the prior); with the ``mu`` and ``logvar`` of the image and ``z`` as the decoder took it (float32).
   * ``posterior``, the image's ``{mu, logvar}`` when the caller has them (an encode's, or a manifest
   * example's), saves the encode: with it the decoder alone is needed.
   */
  async elbo(image, z, posterior = null) {
    const {mu, logvar} = posterior ?? (await this.encode(image));
    const at = toFloat32(z, this.latentDim, `z (one latent vector of ${this.latentDim} values)`);
    const probabilities = await this.decode(at);
    let bce = 0;
    for (let i = 0; i < probabilities.length; i++) {
      const [p, x] = [probabilities[i], image[i]];
      bce -= x * Math.max(Math.log(p), ELBO_LOG_FLOOR) + (1 - x) * Math.max(Math.log1p(-p), ELBO_LOG_FLOOR);
    }
    const logPz = this.prior.logProb(at);
    const kl = this.prior.isStandardNormal
      ? -0.5 * mu.reduce((sum, m, j) => sum + 1 + logvar[j] - m * m - Math.exp(logvar[j]), 0)
      : gaussianLogProb(at, mu, logvar) - logPz;
    return {recon_bce: bce, kl, neg_elbo: bce + kl, log_pz: logPz, mu, logvar, z: at};
  }

  /** A drawing -> the image this model's encoder expects (see ``preprocessDrawing``). */
  preprocessDrawing(drawing, {ink = 'auto'} = {}) {
    return preprocessDrawing(drawing, {ink, field: this.imageShape[1]});
  }
}

function toFloat32(values, length, what) {
  if (!(values instanceof Float32Array || Array.isArray(values) || ArrayBuffer.isView(values))) {
    throw new InputError(`${what} must be an array of numbers`);
  }
  if (values.length !== length) throw new InputError(`${what} must hold ${length} numbers; got ${values.length}`);
  return values instanceof Float32Array ? values : Float32Array.from(values);
}

// --- randomness -------------------------------------------------------------------------

/**
 * A seedable generator of uniform and standard normal numbers (sfc32, Box-Muller). Without a seed
 * it is seeded from Web Crypto, so every page gets its own samples.
 */
export function createRandom(seed) {
  const state = new Uint32Array(4);
  if (seed === undefined || seed === null) {
    globalThis.crypto.getRandomValues(state);
  } else {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new InputError(`seed must be a non-negative whole number; got ${seed}`);
    // The seed's two 32-bit halves and two fixed words; the warm-up below mixes them.
    state.set([seed >>> 0, Math.floor(seed / 2 ** 32), 0x9e3779b9, 0x243f6a88]);
  }
  let [a, b, c, d] = state;
  const uniform = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 16; i++) uniform();
  let spare = null;
  const normal = () => {
    if (spare !== null) {
      const value = spare;
      spare = null;
      return value;
    }
    const u = 1 - uniform(); // in (0, 1]: the logarithm stays finite
    const radius = Math.sqrt(-2 * Math.log(u));
    const angle = 2 * Math.PI * uniform();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
  return {uniform, normal};
}

// --- latent space -------------------------------------------------------------------------

/** log N(z; mean, diag(exp(logvar))), in float64 (gaussian_log_prob in vaeport.runtime.prior). */
export function gaussianLogProb(z, mean, logvar) {
  let sum = 0;
  for (let j = 0; j < z.length; j++) sum += LOG_2PI + logvar[j] + (z[j] - mean[j]) ** 2 * Math.exp(-logvar[j]);
  return -0.5 * sum;
}

/**
 * The model's prior over z: the manifest's Gaussian mixture (``prior``: weights, means, logvars),
 * or N(0, I) when the manifest has no prior.
 */
export class Prior {
  constructor(weights, means, logvars) {
    this.weights = weights;
    this.means = means;
    this.logvars = logvars;
    const total = weights.reduce((a, b) => a + b, 0);
    let running = 0;
    this.cumulative = weights.map((w) => (running += w / total));
    this.logWeights = weights.map((w) => Math.log(w / total));
    this.isStandardNormal = weights.length === 1 && [...means[0], ...logvars[0]].every((value) => value === 0);
  }

  /**
   * The manifest's ``prior`` section, checked by the rules of vaeport.runtime.prior, for the
   * manifest's ``latent_dim`` (which checkManifest checks first); N(0, I) when there is none.
   */
  static fromManifest(manifest, where = 'manifest.json') {
    const d = manifest.latent_dim;
    if (!Object.hasOwn(manifest, 'prior')) return new Prior([1], [new Array(d).fill(0)], [new Array(d).fill(0)]);
    const prior = manifest.prior;
    if (!isObject(prior)) {
      throw new ModelError(`${where} has prior ${describe(prior)}; expected an object with type, weights, means, logvars and description`);
    }
    if (prior.type !== 'gaussian_mixture') {
      throw new ModelError(`${where} has prior.type ${describe(prior.type)}; this runtime reads "gaussian_mixture"`);
    }
    if (typeof prior.description !== 'string') {
      throw new ModelError(`${where} has prior.description ${describe(prior.description)}; expected a string`);
    }
    const weights = prior.weights;
    const k = Array.isArray(weights) ? weights.length : 0;
    if (k === 0 || !isVector(weights, k) || weights.some((w) => w <= 0)) {
      throw new ModelError(`${where} has prior.weights ${describe(weights)}; expected one or more positive numbers, one per component`);
    }
    const total = weights.reduce((a, b) => a + b, 0);
    if (Math.abs(total - 1) > WEIGHT_SUM_TOLERANCE) {
      throw new ModelError(`${where} has prior.weights summing to ${total}; expected weights that sum to 1 (within ${WEIGHT_SUM_TOLERANCE})`);
    }
    for (const name of ['means', 'logvars']) {
      const rows = prior[name];
      if (!Array.isArray(rows) || rows.length !== k || !rows.every((row) => isVector(row, d))) {
        throw new ModelError(`${where} has prior.${name} ${describe(rows)}; expected ${k} rows (one per weight) of ${d} finite numbers`);
      }
    }
    return new Prior(weights, prior.means, prior.logvars);
  }

  /** The mixture's mean, sum over k of weight_k * mean_k. */
  mean() {
    const total = this.weights.reduce((a, b) => a + b, 0);
    return this.means[0].map((_, j) => this.means.reduce((sum, row, k) => sum + (this.weights[k] / total) * row[j], 0));
  }

  /** log p(z) of one latent vector, in float64, by a stable log-sum-exp over the components. */
  logProb(z) {
    const terms = this.means.map((mean, k) => this.logWeights[k] + gaussianLogProb(z, mean, this.logvars[k]));
    const top = Math.max(...terms);
    return top + Math.log(terms.reduce((sum, term) => sum + Math.exp(term - top), 0));
  }

  /** One z: a component drawn by weight, then its mean plus its sigma times standard normal noise. */
  sample(random) {
    const u = random.uniform();
    let k = this.cumulative.findIndex((edge) => u < edge);
    if (k < 0) k = this.cumulative.length - 1;
    return samplePosterior(this.means[k], this.logvars[k], random);
  }
}

/**
 * The latent map (vaeport.runtime.latent_map): a plane of latent space through ``centre`` along two
 * orthonormal ``axes``, and the test digits' mu ``points`` (n x D, row by row) with their ``digits``.
 */
export class LatentMap {
  constructor(centre, axes, points, digits, description) {
    Object.assign(this, {centre, axes, points, digits, description});
    this.latentDim = centre.length;
  }

  /** The manifest's ``map`` section, checked by the rules of vaeport.runtime.latent_map; null when there is none. */
  static fromManifest(manifest, where = 'manifest.json') {
    if (!Object.hasOwn(manifest, 'map')) return null;
    const map = manifest.map;
    const d = manifest.latent_dim;
    if (!isObject(map)) throw new ModelError(`${where} has map ${describe(map)}; expected an object with description, centre, axes and points`);
    if (typeof map.description !== 'string') throw new ModelError(`${where} has map.description ${describe(map.description)}; expected a string`);
    if (!isVector(map.centre, d)) throw new ModelError(`${where} has map.centre ${describe(map.centre)}; expected ${d} finite numbers`);
    const axes = map.axes;
    if (!Array.isArray(axes) || axes.length !== 2 || !axes.every((axis) => isVector(axis, d))) {
      throw new ModelError(`${where} has map.axes ${describe(axes)}; expected two lists of ${d} finite numbers`);
    }
    const dot = (a, b) => a.reduce((sum, value, i) => sum + value * b[i], 0);
    const gram = [dot(axes[0], axes[0]) - 1, dot(axes[0], axes[1]), dot(axes[1], axes[1]) - 1];
    if (gram.some((value) => Math.abs(value) > MAP_ORTHONORMAL_TOLERANCE)) {
      throw new ModelError(`${where} has map.axes that are not two orthonormal directions`);
    }
    const points = map.points;
    if (!isObject(points)) throw new ModelError(`${where} has map.points ${describe(points)}; expected an object with per_digit, low, high and mu`);
    const perDigit = points.per_digit;
    if (!Array.isArray(perDigit) || perDigit.length !== CONTRACT.DIGITS.length || !perDigit.every((n) => Number.isInteger(n) && n >= 0)) {
      throw new ModelError(`${where} has map.points.per_digit ${describe(perDigit)}; expected ${CONTRACT.DIGITS.length} whole numbers, the points of each digit`);
    }
    for (const name of ['low', 'high']) {
      if (!isVector(points[name], d)) throw new ModelError(`${where} has map.points.${name} ${describe(points[name])}; expected ${d} finite numbers`);
    }
    if (points.low.some((low, i) => low > points.high[i])) {
      throw new ModelError(`${where} has map.points.low above map.points.high in some dimension`);
    }
    const count = perDigit.reduce((a, b) => a + b, 0);
    const bytes = base64Bytes(points.mu);
    if (bytes?.length !== count * d) {
      throw new ModelError(
        `${where} has map.points.mu ${describe(points.mu)}; expected base64 text of one byte per point and latent dimension: ${count * d} bytes`,
      );
    }
    const mu = new Float64Array(count * d);
    bytes.forEach((step, i) => {
      const j = i % d;
      mu[i] = points.low[j] + (step / MAP_LEVELS) * (points.high[j] - points.low[j]);
    });
    const digits = Uint8Array.from(perDigit.flatMap((n, digit) => new Array(n).fill(CONTRACT.DIGITS[digit])));
    return new LatentMap(map.centre, axes, mu, digits, map.description);
  }

  /** Map coordinates [x, y] of one latent vector z (in ``axes``, by default the map's plane). */
  project(z, axes = this.axes) {
    if (!isVector(Array.from(z ?? []), this.latentDim)) throw new InputError(`z must be ${this.latentDim} finite numbers; got ${describe(z)}`);
    return axes.map((axis) => axis.reduce((sum, a, j) => sum + a * (z[j] - this.centre[j]), 0));
  }

  /** z moved so that its projection is ``point`` [x, y]; the part of z off the plane is unchanged. */
  place(z, point, axes = this.axes) {
    if (!isVector(Array.from(point ?? []), 2)) throw new InputError(`a map point must be two finite numbers; got ${describe(point)}`);
    const [dx, dy] = this.project(z, axes).map((value, i) => point[i] - value);
    return Array.from(z, (value, j) => value + dx * axes[0][j] + dy * axes[1][j]);
  }

  /** The axes of the plane of latent dimensions ``first`` and ``second``. */
  dimensionAxes(first, second) {
    const d = this.latentDim;
    if (!(Number.isInteger(first) && Number.isInteger(second) && first >= 0 && second >= 0 && first < d && second < d && first !== second)) {
      throw new InputError(`a plane of dimensions needs two different dimensions in 0..${d - 1}; got ${first}, ${second}`);
    }
    return [first, second].map((k) => Array.from({length: d}, (_, j) => (j === k ? 1 : 0)));
  }
}

/** One z from N(mu, exp(logvar)). */
export function samplePosterior(mu, logvar, random) {
  return Float32Array.from(mu, (m, j) => m + Math.exp(0.5 * logvar[j]) * random.normal());
}

/** ``steps`` latent vectors evenly spaced from ``start`` to ``end``, both included, one after another. */
export function interpolate(start, end, steps) {
  if (!Number.isInteger(steps) || steps < 2) throw new InputError(`steps must be a whole number of at least 2; got ${steps}`);
  const d = start.length;
  const path = new Float32Array(steps * d);
  for (let s = 0; s < steps; s++) {
    const t = Math.fround(s / (steps - 1));
    for (let j = 0; j < d; j++) path[s * d + j] = (1 - t) * start[j] + t * end[j];
  }
  return path;
}

// --- drawings -------------------------------------------------------------------------------
// The MNIST recipe of vaeport.runtime.preprocess, step for step, rounding to float32 where numpy
// works in float32 (its matrix products and sums run in another order, so pixels agree to about
// 1e-7, not bit for bit), so a drawing becomes the same 28x28 image in both runtimes; a parity test
// on real digits and symmetric shapes holds them together, RECIPE's constants included: crop to
// the ink, scale the longer side to 20 px with anti-aliasing (area averaging), put the centre of
// mass at the centre of the field.

export const RECIPE = {DIGIT_BOX: 20, INK_THRESHOLD: 0.1, FAINT: 0.02, CENTRE_GRID: 65536, LUMA: [0.299, 0.587, 0.114]};
const {DIGIT_BOX, INK_THRESHOLD, CENTRE_GRID} = RECIPE;
const FAINT = Math.fround(RECIPE.FAINT);
const LUMA = RECIPE.LUMA.map(Math.fround);
const f32 = Math.fround;

/** Median of float32 values as numpy computes it: the mean of the middle two of an even count, in float32. */
function median(values) {
  const sorted = Float32Array.from(values).sort();
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : f32(f32(sorted[middle - 1] + sorted[middle]) / 2);
}

function border(image, height, width) {
  const values = [];
  for (let c = 0; c < width; c++) values.push(image[c], image[(height - 1) * width + c]);
  for (let r = 1; r < height - 1; r++) values.push(image[r * width], image[r * width + width - 1]);
  return values;
}

/** [sizeOut x sizeIn] weights: the share of each input pixel in each output pixel's footprint (rows sum to 1). */
function areaWeights(sizeIn, sizeOut) {
  const weights = new Float32Array(sizeOut * sizeIn);
  const step = sizeIn / sizeOut;
  for (let o = 0; o < sizeOut; o++) {
    const low = o * step;
    const high = (o + 1) * step;
    let total = 0;
    const row = new Float64Array(sizeIn);
    for (let i = 0; i < sizeIn; i++) {
      row[i] = Math.max(0, Math.min(high, i + 1) - Math.max(low, i));
      total += row[i];
    }
    for (let i = 0; i < sizeIn; i++) weights[o * sizeIn + i] = row[i] / total;
  }
  return weights;
}

/** Area-average resize of a float image (box filter): rows[h x H] . image . cols[w x W]^T. */
function resizeArea(image, height, width, outHeight, outWidth) {
  const rows = areaWeights(height, outHeight);
  const cols = areaWeights(width, outWidth);
  const tall = new Float32Array(outHeight * width);
  for (let o = 0; o < outHeight; o++) {
    for (let c = 0; c < width; c++) {
      let sum = 0;
      for (let r = 0; r < height; r++) sum += rows[o * height + r] * image[r * width + c];
      tall[o * width + c] = sum;
    }
  }
  const out = new Float32Array(outHeight * outWidth);
  for (let o = 0; o < outHeight; o++) {
    for (let p = 0; p < outWidth; p++) {
      let sum = 0;
      for (let c = 0; c < width; c++) sum += tall[o * width + c] * cols[p * width + c];
      out[o * outWidth + p] = sum;
    }
  }
  return out;
}

/** One channel in [0, 1] and the ink polarity, "auto" decided, as vaeport.runtime.preprocess does it. */
function greyscale(data, height, width, channels, ink) {
  const count = height * width;
  const scale = data instanceof Uint8Array || data instanceof Uint8ClampedArray ? 255 : 1; // bytes, or floats in [0, 1]
  const grey = new Float32Array(count);
  let alpha = null;
  for (let i = 0; i < count; i++) {
    const at = i * channels;
    if (channels >= 3) {
      const [r, g, b] = [f32(data[at] / scale), f32(data[at + 1] / scale), f32(data[at + 2] / scale)];
      grey[i] = f32(f32(f32(r * LUMA[0]) + f32(g * LUMA[1])) + f32(b * LUMA[2]));
    } else {
      grey[i] = f32(data[at] / scale);
    }
  }
  if (channels === 4) {
    alpha = Float32Array.from({length: count}, (_, i) => f32(data[i * 4 + 3] / scale));
    if (alpha.some((a) => a < 1)) {
      if (alpha.every((a) => a === 0)) {
        throw new EmptyDrawingError('the drawing is empty: every pixel of the canvas is fully transparent');
      }
      if (ink === 'auto') {
        let painted = 0;
        let total = 0;
        for (let i = 0; i < count; i++) {
          painted += grey[i] * alpha[i];
          total += alpha[i];
        }
        ink = painted / total < 0.5 ? 'dark' : 'light';
      }
      const background = ink === 'dark' ? 1 : 0;
      for (let i = 0; i < count; i++) grey[i] = f32(f32(grey[i] * alpha[i]) + f32(background * f32(1 - alpha[i])));
    }
  }
  if (ink === 'auto') ink = median(border(grey, height, width)) > 0.5 ? 'dark' : 'light';
  return [grey, ink];
}

/**
 * A drawing -> the ``field`` x ``field`` MNIST-style digit the encoder expects (28 x 28 for the
 * shipped model: ``VaeModel.preprocessDrawing`` takes it from the manifest), white on black in
 * [0, 1], as a Float32Array row by row.
 *
 * ``drawing``: {data, width, height, channels} with channels 1 (grey), 3 (RGB) or 4 (RGBA, such as
 * a canvas's getImageData) and data as bytes (0..255) or floats in [0, 1]. ``ink``: "dark" strokes on
 * a light background, "light" on a dark one, or "auto" to decide from the drawing.
 */
export function preprocessDrawing({data, width, height, channels = 1}, {ink = 'auto', field}) {
  if (!Number.isInteger(field) || field < DIGIT_BOX) throw new InputError(`field must be a whole number of at least ${DIGIT_BOX}; got ${describe(field)}`);
  if (!['auto', 'dark', 'light'].includes(ink)) throw new InputError(`ink must be "auto", "dark" or "light"; got ${describe(ink)}`);
  if (![1, 3, 4].includes(channels)) throw new InputError(`channels must be 1, 3 or 4; got ${describe(channels)}`);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new InputError(`width and height must be positive whole numbers; got ${describe(width)} x ${describe(height)}`);
  }
  const bytes = data instanceof Uint8Array || data instanceof Uint8ClampedArray;
  if (!bytes && !(data instanceof Float32Array || data instanceof Float64Array)) {
    throw new InputError('drawing data must be a Uint8Array or Uint8ClampedArray (0..255) or a Float32Array (0.0..1.0)');
  }
  if (data.length !== width * height * channels) {
    throw new InputError(`a ${width}x${height} drawing with ${channels} channel(s) needs ${width * height * channels} values; got ${data.length}`);
  }
  if (!bytes && !data.every((v) => v >= 0 && v <= 1)) {
    throw new InputError('drawing data holds floats outside [0, 1] (or NaN); expected float pixels in [0, 1], or bytes 0..255');
  }
  const [grey, polarity] = greyscale(data, height, width, channels, ink);
  const strokes = polarity === 'dark' ? grey.map((v) => f32(1 - v)) : grey;
  const background = median(border(strokes, height, width));
  let contrast = 0;
  for (let i = 0; i < strokes.length; i++) {
    strokes[i] = Math.max(0, f32(strokes[i] - background));
    contrast = Math.max(contrast, strokes[i]);
  }
  if (contrast < INK_THRESHOLD) {
    const judged = ink === 'auto' ? ' (judged from the drawing)' : '';
    throw new EmptyDrawingError(
      `the drawing is empty: no pixel stands out from the background by more than ${INK_THRESHOLD} with ink="${polarity}"${judged}; ` +
        'draw a digit, or pass the other ink if the strokes are there',
    );
  }
  let [top, bottom, left, right] = [height, -1, width, -1];
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const value = (strokes[r * width + c] = f32(strokes[r * width + c] / contrast));
      if (value > FAINT) {
        top = Math.min(top, r);
        bottom = Math.max(bottom, r);
        left = Math.min(left, c);
        right = Math.max(right, c);
      }
    }
  }
  const [boxHeight, boxWidth] = [bottom - top + 1, right - left + 1];
  const box = new Float32Array(boxHeight * boxWidth);
  for (let r = 0; r < boxHeight; r++) {
    box.set(strokes.subarray((top + r) * width + left, (top + r) * width + right + 1), r * boxWidth);
  }
  const scale = DIGIT_BOX / Math.max(boxHeight, boxWidth);
  const outHeight = Math.max(1, Math.floor(boxHeight * scale + 0.5));
  const outWidth = Math.max(1, Math.floor(boxWidth * scale + 0.5));
  const digit = resizeArea(box, boxHeight, boxWidth, outHeight, outWidth);

  let mass = 0;
  let rowMoment = 0;
  let colMoment = 0;
  for (let r = 0; r < outHeight; r++) {
    for (let c = 0; c < outWidth; c++) {
      const value = digit[r * outWidth + c];
      mass += value;
      rowMoment += value * r;
      colMoment += value * c;
    }
  }
  const clip = (value, low, high) => Math.min(Math.max(value, low), high);
  // Settled to 1/65536 px first, as in Python: a symmetric drawing's centre lies exactly on a half
  // pixel, and the two runtimes' different rounding noise must not tip it different ways.
  const settle = (centre) => Math.floor(centre * CENTRE_GRID + 0.5) / CENTRE_GRID;
  const shiftTop = clip(Math.floor(field / 2 - settle(rowMoment / mass) + 0.5), 0, field - outHeight);
  const shiftLeft = clip(Math.floor(field / 2 - settle(colMoment / mass) + 0.5), 0, field - outWidth);
  const image = new Float32Array(field * field);
  for (let r = 0; r < outHeight; r++) {
    for (let c = 0; c < outWidth; c++) {
      image[(shiftTop + r) * field + shiftLeft + c] = clip(digit[r * outWidth + c], 0, 1);
    }
  }
  return image;
}
