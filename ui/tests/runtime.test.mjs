// The browser runtime on the real shipped graphs through onnxruntime-web in Node, against the
// Python runtime's answers for the same inputs.

import assert from 'node:assert/strict';
import {createHash} from 'node:crypto';
import {copyFileSync, mkdtempSync, readFileSync, readdirSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {createServer} from 'node:http';
import {join} from 'node:path';
import {describe, test} from 'node:test';

import {
  InputError,
  ManifestMismatchError,
  ModelError,
  ModelIntegrityError,
  Prior,
  createRandom,
  fetchStreamed,
  interpolate,
  loadModel,
  sha256Hex,
} from '../static/runtime.mjs';
import {
  SHIPPED_MODEL,
  folderReader,
  maxAbsDifference,
  onnxruntimeWeb,
  pythonReference,
  readManifest,
  renameGraphOutput,
  sha256File,
} from './helpers.mjs';

const ort = onnxruntimeWeb();
const TOLERANCE = 1e-5;

/** A writable copy of the shipped model folder, with ``change(manifest)`` applied to its manifest. */
function modelCopy(change = () => {}) {
  const folder = mkdtempSync(join(tmpdir(), 'vaeport-model-'));
  for (const name of readdirSync(SHIPPED_MODEL)) {
    if (name.endsWith('.onnx') || name.endsWith('.json')) copyFileSync(join(SHIPPED_MODEL, name), join(folder, name));
  }
  const manifest = readManifest(folder);
  change(manifest, folder);
  writeFileSync(join(folder, 'manifest.json'), JSON.stringify(manifest));
  return folder;
}

for (const precision of ['fp32', 'int8']) {
  describe(`the shipped ${precision} graphs`, async () => {
    const model = await loadModel(ort, {read: folderReader(SHIPPED_MODEL), precision});
    const d = model.latentDim;

    test('decode agrees with the Python runtime', async () => {
      const random = createRandom(7);
      const n = 16;
      const z = Float32Array.from({length: n * d}, () => 1.5 * random.normal());
      const expected = pythonReference('decode', z, n, ['--precision', precision]);
      const images = await model.decode(z, n);
      assert.equal(images.length, n * 28 * 28);
      assert.ok(maxAbsDifference(images, expected) <= TOLERANCE, `max difference ${maxAbsDifference(images, expected)}`);
    });

    test('encode agrees with the Python runtime', async () => {
      const random = createRandom(8);
      const n = 8;
      const images = Float32Array.from({length: n * 28 * 28}, () => (random.uniform() < 0.8 ? 0 : random.uniform()));
      const expected = pythonReference('encode', images, n, ['--precision', precision]);
      const {mu, logvar} = await model.encode(images, n);
      const got = Float32Array.from([...mu, ...logvar]);
      assert.ok(maxAbsDifference(got, expected) <= TOLERANCE, `max difference ${maxAbsDifference(got, expected)}`);
    });
  });
}

describe('loading a model folder', () => {
  test('the graphs are the ones the manifest names and hashes', async () => {
    const manifest = readManifest();
    const bytes = readFileSync(join(SHIPPED_MODEL, manifest.graphs.fp32.decoder.file));
    assert.equal(await sha256Hex(bytes), manifest.graphs.fp32.decoder.sha256);
  });

  test('a tampered graph is refused, naming the file, before onnxruntime-web sees it', async () => {
    const folder = modelCopy((manifest, dir) => {
      const path = join(dir, manifest.graphs.fp32.decoder.file);
      const bytes = readFileSync(path);
      bytes[bytes.length >> 1] ^= 1;
      writeFileSync(path, bytes);
    });
    await assert.rejects(loadModel(ort, {read: folderReader(folder)}), (error) => {
      assert.ok(error instanceof ModelIntegrityError);
      assert.match(error.message, /^decoder\.onnx has SHA-256 [0-9a-f]{64}, but manifest\.json records [0-9a-f]{64}/);
      return true;
    });
  });

  test('a manifest whose latent size differs from the graphs is refused', async () => {
    const folder = modelCopy((manifest) => {
      const d = manifest.latent_dim + 2;
      manifest.latent_dim = d;
      manifest.io.decoder.inputs.z = ['N', d];
      for (const name of ['mu', 'logvar']) manifest.io.encoder.outputs[name] = ['N', d];
      for (const example of manifest.examples) example.mu = example.logvar = new Array(d).fill(0);
      for (const name of Object.keys(manifest.latent_stats)) manifest.latent_stats[name] = new Array(d).fill(0);
      if (manifest.prior) for (const key of ['means', 'logvars']) manifest.prior[key] = manifest.prior[key].map((row) => [...row, 0, 0]);
      delete manifest.map; // a map is optional; a consistent one would need its points for the new size
    });
    await assert.rejects(loadModel(ort, {read: folderReader(folder)}), (error) => {
      assert.ok(error instanceof ManifestMismatchError);
      assert.match(error.message, /encoder\.onnx output 'mu' has shape \["N",10\]; the manifest expects \["N",12\]/);
      return true;
    });
  });

  test('a graph whose output names differ from the contract is refused', async () => {
    const folder = modelCopy((manifest, dir) => {
      const entry = manifest.graphs.fp32.encoder;
      renameGraphOutput(join(dir, entry.file), 'mu', 'mean');
      entry.sha256 = sha256File(join(dir, entry.file));
    });
    await assert.rejects(loadModel(ort, {read: folderReader(folder)}), (error) => {
      assert.ok(error instanceof ManifestMismatchError);
      assert.match(error.message, /encoder\.onnx has outputs \["mean","logvar"\]; the manifest and the contract expect \["mu","logvar"\]/);
      return true;
    });
  });

  test('a precision the manifest does not record is refused, naming the ones it does', async () => {
    const folder = modelCopy((manifest) => delete manifest.graphs.int8);
    await assert.rejects(
      loadModel(ort, {read: folderReader(folder), precision: 'int8'}),
      (error) => error instanceof ModelError && /records no graphs\.int8\.encoder; it lists precisions \["fp32"\]/.test(error.message),
    );
    await assert.rejects(loadModel(ort, {read: folderReader(SHIPPED_MODEL), precision: 'fp16'}), InputError);
  });

  test('a manifest that breaks a rule is refused before any graph is read', async () => {
    const read = folderReader(modelCopy((manifest) => manifest.examples.pop()));
    const files = [];
    const recording = (name) => (files.push(name), read(name));
    await assert.rejects(loadModel(ort, {read: recording}), /manifest\.json has examples .*; expected a list of 10, one per digit 0-9/);
    assert.deepEqual(files, ['manifest.json']);
  });
});

describe('inputs', async () => {
  const model = await loadModel(ort, {read: folderReader(SHIPPED_MODEL)});

  test('a latent vector of the wrong length is refused', async () => {
    await assert.rejects(model.decode(new Float32Array(model.latentDim + 1)), (error) => {
      assert.ok(error instanceof InputError);
      assert.match(error.message, /must hold 10 numbers; got 11/);
      return true;
    });
  });

  test('NaN in a latent vector and pixels outside [0, 1] are refused', async () => {
    await assert.rejects(model.decode(new Float32Array(model.latentDim).fill(NaN)), /finite numbers/);
    await assert.rejects(model.encode(new Float32Array(28 * 28).fill(2)), /pixels in \[0, 1\]/);
  });
});

describe('latent space', () => {
  test('interpolation runs from the first vector to the last in even steps', () => {
    const path = interpolate([0, 2], [1, -2], 5);
    assert.deepEqual(Array.from(path), [0, 2, 0.25, 1, 0.5, 0, 0.75, -1, 1, -2]);
    assert.throws(() => interpolate([0], [1], 1), InputError);
  });

  test('a seeded generator repeats itself and its normals have mean 0 and variance 1', () => {
    const [a, b] = [createRandom(3), createRandom(3)];
    const draws = Array.from({length: 20000}, () => a.normal());
    assert.deepEqual(draws.slice(0, 5), Array.from({length: 5}, () => b.normal()));
    const mean = draws.reduce((s, x) => s + x, 0) / draws.length;
    const variance = draws.reduce((s, x) => s + (x - mean) ** 2, 0) / draws.length;
    assert.ok(Math.abs(mean) < 0.03 && Math.abs(variance - 1) < 0.03, `mean ${mean}, variance ${variance}`);
    assert.notDeepEqual(createRandom().uniform(), createRandom().uniform());
  });
});

describe("the model's prior", () => {
  // Three well separated components in two dimensions, so each sample's component can be told.
  const mixture = {
    latent_dim: 2,
    prior: {
      type: 'gaussian_mixture',
      weights: [0.5, 0.3, 0.2],
      means: [[-10, 0], [10, 0], [0, 10]],
      logvars: [[0, 0], [Math.log(0.25), Math.log(4)], [Math.log(0.01), 0]],
      description: 'a test mixture',
    },
  };

  function moments(samples, d) {
    const mean = Array.from({length: d}, (_, j) => samples.reduce((s, z) => s + z[j], 0) / samples.length);
    const variance = mean.map((m, j) => samples.reduce((s, z) => s + (z[j] - m) ** 2, 0) / samples.length);
    return {mean, variance};
  }

  test('a mixture draws each component as often as its weight, with its mean and variance', () => {
    const prior = Prior.fromManifest(mixture);
    const random = createRandom(11);
    const samples = Array.from({length: 30000}, () => prior.sample(random));
    const nearest = (z) => mixture.prior.means.map(([a, b]) => (z[0] - a) ** 2 + (z[1] - b) ** 2).reduce((best, d, k, all) => (d < all[best] ? k : best), 0);
    const groups = [[], [], []];
    for (const z of samples) groups[nearest(z)].push(z);
    groups.forEach((group, k) => {
      assert.ok(Math.abs(group.length / samples.length - mixture.prior.weights[k]) < 0.015, `component ${k}: ${group.length}`);
      const {mean, variance} = moments(group, 2);
      mean.forEach((m, j) => assert.ok(Math.abs(m - mixture.prior.means[k][j]) < 0.06, `component ${k} mean ${mean}`));
      variance.forEach((v, j) => {
        const expected = Math.exp(mixture.prior.logvars[k][j]);
        assert.ok(Math.abs(v / expected - 1) < 0.06, `component ${k} variance ${variance}`);
      });
    });
    assert.deepEqual(prior.mean(), [-2, 10 * 0.2]);
  });

  test('a manifest without a prior means the standard normal', () => {
    const prior = Prior.fromManifest({latent_dim: 3});
    const random = createRandom(12);
    const {mean, variance} = moments(Array.from({length: 20000}, () => prior.sample(random)), 3);
    mean.forEach((m) => assert.ok(Math.abs(m) < 0.03, `mean ${mean}`));
    variance.forEach((v) => assert.ok(Math.abs(v - 1) < 0.04, `variance ${variance}`));
    assert.deepEqual(prior.mean(), [0, 0, 0]);
  });

  test('a malformed prior is refused by key', () => {
    const broken = (change) => {
      const manifest = structuredClone(mixture);
      change(manifest.prior);
      return () => Prior.fromManifest(manifest);
    };
    assert.throws(broken((p) => (p.type = 'flow')), /prior.type "flow"; this runtime reads "gaussian_mixture"/);
    assert.throws(broken((p) => (p.weights = [0.5, 0.5, 0.5])), /prior.weights summing to 1.5/);
    assert.throws(broken((p) => (p.weights = [1.2, -0.1, -0.1])), /expected one or more positive numbers/);
    assert.throws(broken((p) => p.means.pop()), /prior.means .*; expected 3 rows \(one per weight\) of 2 finite numbers/);
    assert.throws(broken((p) => delete p.description), /prior.description undefined; expected a string/);
  });
});

describe('loading in stages and streaming downloads', () => {
  test('a model loaded with its decoder alone decodes, and encodes once the encoder is added', async () => {
    const read = folderReader(SHIPPED_MODEL);
    const model = await loadModel(ort, {read, roles: ['decoder']});
    assert.ok(model.has('decoder') && !model.has('encoder'));
    const z = new Float32Array(model.latentDim);
    assert.equal((await model.decode(z)).length, 28 * 28);
    await assert.rejects(model.encode(new Float32Array(28 * 28)), /the encoder is not loaded yet \(encoder\.onnx\)/);
    await model.loadGraph('encoder', read);
    const {mu} = await model.encode(new Float32Array(28 * 28));
    assert.equal(mu.length, model.latentDim);
    await assert.rejects(loadModel(ort, {read, roles: ['decoder', 'prior']}), InputError);
  });

  test('a graph added later is checked against the manifest like the first', async () => {
    const folder = modelCopy((manifest, dir) => {
      const path = join(dir, manifest.graphs.fp32.encoder.file);
      const bytes = readFileSync(path);
      bytes[bytes.length >> 1] ^= 1;
      writeFileSync(path, bytes);
    });
    const model = await loadModel(ort, {read: folderReader(folder), roles: ['decoder']});
    await assert.rejects(model.loadGraph('encoder', folderReader(folder)), ModelIntegrityError);
    assert.ok(!model.has('encoder'));
  });

  test('a download reports its bytes as they arrive and is checked against its pinned digest', async () => {
    const body = readFileSync(join(SHIPPED_MODEL, 'decoder.int8.onnx'));
    const server = createServer((request, response) => {
      response.writeHead(200, {'Content-Type': 'application/octet-stream'});
      for (let start = 0; start < body.length; start += 65536) response.write(body.subarray(start, start + 65536));
      response.end();
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${server.address().port}/decoder.int8.onnx`;
    try {
      const seen = [];
      const integrity = `sha384-${createHash('sha384').update(body).digest('base64')}`;
      const bytes = await fetchStreamed(url, {integrity, onProgress: (received) => seen.push(received)});
      assert.deepEqual(Buffer.from(bytes), body);
      assert.ok(seen.length > 1 && seen.at(-1) === body.length && seen.every((n, i) => i === 0 || n > seen[i - 1]));
      const wrong = `sha384-${createHash('sha384').update('another file').digest('base64')}`;
      await assert.rejects(fetchStreamed(url, {integrity: wrong}), (error) => error instanceof ModelIntegrityError && /not the pinned/.test(error.message));
      await assert.rejects(fetchStreamed(url.replace(/\d+\/decoder/, '1/decoder')), /could not fetch .* \(unreachable\)/);
    } finally {
      server.close();
    }
  });
});
