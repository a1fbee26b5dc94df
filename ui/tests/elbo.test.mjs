// Each image's ELBO in the browser runtime (VaeModel.elbo) against the Python runtime's
// (VAERuntime.elbo) for the same real test digits and the same z, with the shipped mixture prior and
// with the standard normal prior (whose KL is analytic).

import assert from 'node:assert/strict';
import {copyFileSync, mkdtempSync, readdirSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {test} from 'node:test';

import {createRandom, loadModel, samplePosterior} from '../static/runtime.mjs';
import {SHIPPED_MODEL, folderReader, mnistTestDigits, onnxruntimeWeb, pythonReference, readManifest} from './helpers.mjs';

const ort = onnxruntimeWeb();
const DIGITS = 12;
// Far inside the 0.01 nats the page promises: 1e-5 at posterior samples; a z far from the posterior
// has a KL of hundreds of nats, where float32's rounding of mu weighs more.
const NATS = 1e-4;
const RELATIVE = 1e-6;
const FIGURES = ['recon_bce', 'kl', 'neg_elbo', 'log_pz'];

/** The shipped model folder with the manifest's prior taken out: the standard normal N(0, I). */
function standardNormalCopy() {
  const folder = mkdtempSync(join(tmpdir(), 'vaeport-model-'));
  for (const name of readdirSync(SHIPPED_MODEL)) {
    if (name.endsWith('.onnx')) copyFileSync(join(SHIPPED_MODEL, name), join(folder, name));
  }
  const {prior: _, ...manifest} = readManifest();
  writeFileSync(join(folder, 'manifest.json'), JSON.stringify(manifest));
  return folder;
}

for (const [prior, folder] of [['the mixture prior', SHIPPED_MODEL], ['the standard normal prior', standardNormalCopy()]]) {
  test(`the figures equal the Python runtime's, with ${prior}`, async () => {
    const model = await loadModel(ort, {read: folderReader(folder)});
    assert.equal(model.prior.isStandardNormal, folder !== SHIPPED_MODEL);
    const d = model.latentDim;
    const images = Float32Array.from(mnistTestDigits(DIGITS).flatMap((digit) => Array.from(digit, (byte) => byte / 255)));
    const z = new Float32Array(DIGITS * d);
    const random = createRandom(11);
    const figures = [];
    for (let i = 0; i < DIGITS; i++) {
      const image = images.subarray(i * 784, (i + 1) * 784);
      const {mu, logvar} = await model.encode(image);
      // posterior samples, and for the last images z far from the posterior, where the KL is large
      const at = i < DIGITS - 3 ? samplePosterior(mu, logvar, random) : Float32Array.from(mu, () => 4 * random.normal());
      z.set(at, i * d);
      figures.push(await model.elbo(image, at));
    }
    const python = pythonReference('elbo', Float32Array.from([...images, ...z]), DIGITS, ['--model-dir', folder]);
    figures.forEach((figure, i) => {
      FIGURES.forEach((name, k) => {
        const difference = Math.abs(figure[name] - python[4 * i + k]);
        assert.ok(difference <= NATS + RELATIVE * Math.abs(python[4 * i + k]), `image ${i}: ${name} ${figure[name]} against Python's ${python[4 * i + k]}`);
      });
      assert.ok(Math.abs(figure.neg_elbo - figure.recon_bce - figure.kl) < 1e-9);
      assert.deepEqual(figure.z, z.subarray(i * d, (i + 1) * d));
    });
  });
}

test('given the posterior, the figures need only the decoder and equal those that encode', async () => {
  const model = await loadModel(ort, {read: folderReader(SHIPPED_MODEL)});
  const decoderOnly = await loadModel(ort, {read: folderReader(SHIPPED_MODEL), roles: ['decoder']});
  const image = Float32Array.from(mnistTestDigits(1)[0], (byte) => byte / 255);
  const posterior = await model.encode(image);
  const z = samplePosterior(posterior.mu, posterior.logvar, createRandom(3));
  const given = await decoderOnly.elbo(image, z, posterior);
  const encoded = await model.elbo(image, z);
  for (const name of FIGURES) assert.equal(given[name], encoded[name], name);
  await assert.rejects(decoderOnly.elbo(image, z), /the encoder is not loaded yet/);
});
