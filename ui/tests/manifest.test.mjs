// One verdict on a manifest in both languages: the fixtures of tests/fixtures/manifests, which
// tests/test_runtime_manifest.py runs through the Python runtime. Each is a small edit of the shipped
// manifest (``set`` maps paths such as "examples[3].digit" to new values, ``delete`` lists paths to
// remove); those in good/ must be accepted, those in bad/ refused with a ModelError (or the ``error``
// the fixture names) whose message names the fixture's ``key``.

import assert from 'node:assert/strict';
import {readFileSync, readdirSync} from 'node:fs';
import {join} from 'node:path';
import {describe, test} from 'node:test';

import {CONTRACT, ModelError, Prior, checkManifest} from '../static/runtime.mjs';
import {REPO, pythonConstants, readManifest} from './helpers.mjs';

const FIXTURES = join(REPO, 'tests', 'fixtures', 'manifests');
const SHIPPED = readManifest();

/** "examples[3].mu" -> ["examples", 3, "mu"]. */
const steps = (path) => path.match(/[^.[\]]+|\[\d+\]/g).map((step) => (step.startsWith('[') ? Number(step.slice(1, -1)) : step));

/** The shipped manifest with the fixture's edits applied: its ``set`` first, then its ``delete``. */
function editedManifest(fixture) {
  const manifest = structuredClone(SHIPPED);
  const parentOf = (path) => {
    const all = steps(path);
    const last = all.pop();
    return [all.reduce((target, step) => target[step], manifest), last];
  };
  for (const [path, value] of Object.entries(fixture.set ?? {})) {
    const [target, last] = parentOf(path);
    target[last] = value;
  }
  for (const path of fixture.delete ?? []) {
    const [target, last] = parentOf(path);
    if (Array.isArray(target)) target.splice(last, 1);
    else delete target[last];
  }
  return manifest;
}

/** Whether ``message`` names ``key`` whole: "examples" is not named by "examples[3].mu". */
function namesKey(message, key) {
  const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![\\w.\\[])${escaped}(?![\\w.\\[])`).test(message);
}

function fixtures(verdict) {
  const folder = join(FIXTURES, verdict);
  return readdirSync(folder)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => [name.slice(0, -'.json'.length), JSON.parse(readFileSync(join(folder, name), 'utf8'))]);
}

describe('a good manifest is accepted', () => {
  for (const [name, fixture] of fixtures('good')) {
    test(name, () => {
      const manifest = editedManifest(fixture);
      const {prior, latentMap} = checkManifest(manifest);
      assert.ok(prior instanceof Prior);
      assert.equal(latentMap === null, !Object.hasOwn(manifest, 'map'));
    });
  }
});

describe('a bad manifest is refused, naming its key', () => {
  for (const [name, fixture] of fixtures('bad')) {
    test(name, () => {
      assert.throws(
        () => checkManifest(editedManifest(fixture)),
        (error) => {
          assert.ok(error instanceof ModelError, `${error}`);
          assert.equal(error.name, fixture.error ?? 'ModelError');
          assert.ok(namesKey(error.message, fixture.key), `${JSON.stringify(fixture.key)} is not named in: ${error.message}`);
          return true;
        },
      );
    });
  }
});

test('the key must be named whole', () => {
  assert.ok(namesKey('manifest.json has examples[3].mu null; expected', 'examples[3].mu'));
  assert.ok(!namesKey('manifest.json has examples[3].mu null; expected', 'examples'));
  assert.ok(!namesKey('manifest.json has latent_stats.min[2] = 99', 'latent_stats.min'));
});

test("the contract the manifest is checked against is Python's", () => {
  assert.deepEqual(CONTRACT, pythonConstants('contract'));
});
