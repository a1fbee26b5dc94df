// The page's two engines (ui/static/engines.mjs) answer one result type: the browser engine on the
// shipped model in onnxruntime-web, and the server engine on the answers of the demo server's page
// functions (ui/handlers.py, run in Python for the same calls).

import assert from 'node:assert/strict';
import {before, test} from 'node:test';

import {BrowserEngine, ServerEngine, VisitorError} from '../static/engines.mjs';
import {toBase64} from '../static/dom.mjs';
import {loadModel} from '../static/runtime.mjs';
import {sliderGrid} from '../static/sliders.mjs';
import {SHIPPED_MODEL, folderReader, maxAbsDifference, mnistTestDigits, onnxruntimeWeb, pythonPageAnswers, readManifest} from './helpers.mjs';

const manifest = readManifest();
const ranges = manifest.latent_stats.min.map((low, i) => [Math.floor(low * 100) / 100, Math.ceil(manifest.latent_stats.max[i] * 100) / 100]);
const drawing = {data: mnistTestDigits(1)[0], width: 28, height: 28};
const z = Array.from({length: manifest.latent_dim}, (_, i) => (i % 3) - 1);
const noise = Array.from({length: manifest.latent_dim}, (_, i) => Math.sin(i + 1));
const CALLS = [
  ['decode', z],
  ['draw', {pixels: `28:${toBase64(drawing.data)}`, noise}],
  ['sample', 7],
  ['prior', null],
  ['morph', [3, 8]],
  ['decode', [99]],
];

let browser;
let server;

before(async () => {
  const model = await loadModel(onnxruntimeWeb(), {read: folderReader(SHIPPED_MODEL)});
  const answers = pythonPageAnswers(CALLS);
  browser = new BrowserEngine(model, 'test', {toSliders: sliderGrid(ranges, 2)});
  // The server functions answer what Python answered to the same call.
  const replay = (name) => async (argument) => {
    const index = CALLS.findIndex(([called, sent]) => called === name && JSON.stringify(sent) === JSON.stringify(argument));
    assert.ok(index >= 0, `no Python answer to ${name}(${JSON.stringify(argument)})`);
    return answers[index];
  };
  server = new ServerEngine(Object.fromEntries(CALLS.map(([name]) => [name, replay(name)])), 'CPUExecutionProvider');
});

const keys = (result) => Object.keys(result).sort();

/** The two engines' readout figures are the same, at the same z (within float32's rounding of it). */
function assertSameFigures(mine, theirs) {
  assert.deepEqual(keys(mine), keys(theirs));
  for (const name of Object.keys(mine).filter((key) => key !== 'z')) {
    assert.ok(Math.abs(mine[name] - theirs[name]) < 1e-3, `${name}: ${mine[name]} against the server's ${theirs[name]}`);
  }
  assert.ok(maxAbsDifference(mine.z, theirs.z) < 1e-4);
}

test('both engines decode the same values to the same digit, in the same form', async () => {
  const [mine, theirs] = [await browser.decode(z), await server.decode(z)];
  assert.deepEqual(keys(mine), ['figures', 'ms', 'pixels', 'values']);
  assert.deepEqual(keys(theirs), keys(mine));
  assert.deepEqual(mine.values, theirs.values);
  assert.deepEqual(keys(mine.figures), ['log_pz', 'z']);
  assertSameFigures(mine.figures, theirs.figures);
  assert.ok(maxAbsDifference(mine.pixels, theirs.pixels) <= 1);
  assert.ok(mine.pixels instanceof Uint8ClampedArray && theirs.pixels instanceof Uint8Array);
});

test('a drawing gives its posterior, what the encoder saw, its digit and its figures from both engines', async () => {
  const [mine, theirs] = [await browser.draw(drawing, noise), await server.draw(drawing, noise)];
  assert.deepEqual(keys(mine), ['figures', 'logvar', 'ms', 'mu', 'pixels', 'seen', 'values']);
  assert.deepEqual(keys(theirs), keys(mine));
  assert.deepEqual(keys(mine.figures), ['kl', 'log_pz', 'neg_elbo', 'recon_bce', 'z']);
  assertSameFigures(mine.figures, theirs.figures);
  assert.ok(maxAbsDifference(mine.seen, theirs.seen) <= 1);
  assert.ok(maxAbsDifference(mine.mu, theirs.mu) <= 1e-4);
  assert.ok(maxAbsDifference(mine.values, theirs.values) <= 0.011);
  assert.deepEqual(await browser.draw({...drawing, data: new Uint8Array(28 * 28)}, noise), {empty: true});
});

test('samples and morphs come in one form from both engines', async () => {
  for (const call of [(engine) => engine.sample(7), (engine) => engine.prior(), (engine) => engine.morph(3, 8, 8)]) {
    const [mine, theirs] = [await call(browser), await call(server)];
    assert.deepEqual(keys(theirs), keys(mine));
    if (mine.figures) assert.deepEqual(keys(theirs.figures), keys(mine.figures));
  }
  const {values, figures} = await browser.sample(7);
  assert.deepEqual(Array.from(figures.z), Array.from(Float32Array.from(values))); // a tile's figures: at its sample
  const [mine, theirs] = [await browser.morph(3, 8, 8), await server.morph(3, 8, 8)];
  assert.equal(mine.frames.length, 8);
  mine.frames.forEach((frame, i) => assert.ok(maxAbsDifference(frame, theirs.frames[i]) <= 1));
});

test('the server refusing a call is a VisitorError with its message', async () => {
  await assert.rejects(server.decode([99]), (error) => error instanceof VisitorError && /expected 10 latent values/.test(error.message));
});
