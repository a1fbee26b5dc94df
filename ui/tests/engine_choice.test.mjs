// Which engine runs the model (ui/static/engine-choice.mjs), against fake engines: the page starts on
// the server, moves to the browser engine once it loads, and back to the server for good when the
// browser engine fails, doing the failed call again there; with no server, it keeps the browser engine.

import assert from 'node:assert/strict';
import {test} from 'node:test';

import {EngineChoice} from '../static/engine-choice.mjs';
import {VisitorError} from '../static/engines.mjs';

/** A fake engine of ``kind`` whose decode answers ``decode(z)``. */
const engine = (kind, decode = async (z) => ({values: z, from: kind})) => ({kind, decode});
const failing = (message) => engine('browser', async () => {
  throw new Error(message);
});

/** An EngineChoice on ``server`` that counts its changes, with console.error silenced and recorded. */
function choice(t, server) {
  const logged = t.mock.method(console, 'error', () => {});
  const changes = [];
  const engines = new EngineChoice(server, () => changes.push([engines.engine?.kind ?? null, engines.browser]));
  return {engines, changes, logged};
}

test('the page runs on the server while the browser engine loads, then on the browser engine', async (t) => {
  const {engines, changes} = choice(t, engine('server'));
  let loaded;
  const starting = engines.startBrowser(() => new Promise((resolve) => (loaded = resolve)));
  assert.deepEqual([engines.engine.kind, engines.browser, engines.note], ['server', 'loading', 'loading the model in this browser…']);
  assert.deepEqual(await engines.run((e) => e.decode([1])), [{values: [1], from: 'server'}, engines.server]);
  loaded(engine('browser'));
  await starting;
  assert.deepEqual(changes, [['server', 'loading'], ['browser', 'ready']]);
  assert.deepEqual([engines.note, engines.progress], ['', null]);
  assert.equal((await engines.run((e) => e.decode([2])))[0].from, 'browser');
});

test('while the browser engine downloads, the note and the progress say how far it got', async (t) => {
  const {engines} = choice(t, null);
  let report, loaded;
  const starting = engines.startBrowser((onProgress) => {
    report = onProgress;
    return new Promise((resolve) => (loaded = resolve));
  });
  report({received: 2_100_000, total: 4_600_000});
  assert.deepEqual([engines.engine, engines.browser], [null, 'loading']);
  assert.equal(engines.note, 'loading the model in this browser: 2.1 of 4.6 MB');
  assert.deepEqual(engines.progress, {received: 2_100_000, total: 4_600_000});
  loaded(engine('browser'));
  await starting;
  assert.deepEqual([engines.engine.kind, engines.note, engines.progress], ['browser', '', null]);
});

/** A fake browser engine whose graphs are ``loaded`` (a set of roles), the decoder first. */
function staged(loaded) {
  return {...engine('browser'), has: (role) => loaded.has(role), draw: async () => ({from: 'browser'})};
}

test('the sliders move to the browser once its decoder is in; strokes stay on the server until the encoder is', async (t) => {
  const server = {...engine('server'), draw: async () => ({from: 'server'})};
  const {engines, changes} = choice(t, server);
  const loaded = new Set();
  const browser = staged(loaded);
  let finish;
  const starting = engines.startBrowser((onProgress, onDecoder) => {
    loaded.add('decoder');
    onDecoder(browser);
    return new Promise((resolve) => (finish = resolve));
  });
  assert.deepEqual(changes, [['server', 'loading'], ['browser', 'loading']]);
  assert.equal((await engines.run((e) => e.decode([1])))[0].from, 'browser');
  assert.deepEqual(await engines.run((e) => e.draw(), 'encoder'), [{from: 'server'}, server]);
  loaded.add('encoder');
  finish(browser);
  await starting;
  assert.deepEqual(changes.at(-1), ['browser', 'ready']);
  assert.deepEqual(await engines.run((e) => e.draw(), 'encoder'), [{from: 'browser'}, browser]);
});

test('with no server, a stroke before the encoder is in is refused as still loading, and works once it is in', async (t) => {
  const {engines} = choice(t, null);
  const loaded = new Set(['decoder']);
  const browser = staged(loaded);
  let finish;
  const starting = engines.startBrowser((onProgress, onDecoder) => {
    onDecoder(browser);
    return new Promise((resolve) => (finish = resolve));
  });
  assert.equal((await engines.run((e) => e.decode([1])))[0].from, 'browser');
  await assert.rejects(engines.run((e) => e.draw(), 'encoder'), (error) =>
    error instanceof VisitorError && error.message === 'the encoder is still loading in this browser: try again once it is in');
  assert.equal(engines.engine, browser); // not a failure: the browser engine stays
  loaded.add('encoder');
  finish(browser);
  await starting;
  assert.deepEqual(await engines.run((e) => e.draw(), 'encoder'), [{from: 'browser'}, browser]);
});

test('a browser engine that cannot start leaves the page on the server, saying why', async (t) => {
  const {engines, logged} = choice(t, engine('server'));
  await engines.startBrowser(async () => {
    throw new Error('could not fetch ort.wasm.bundle.min.mjs');
  });
  assert.deepEqual([engines.engine.kind, engines.browser], ['server', 'failed']);
  assert.equal(engines.note, 'the browser engine could not start: could not fetch ort.wasm.bundle.min.mjs');
  assert.equal(logged.mock.callCount(), 1); // the console hears of it too
});

test('a download that goes on after another one failed does not bring the loading note back', async (t) => {
  const {engines} = choice(t, engine('server'));
  let report;
  await engines.startBrowser(async (onProgress) => {
    report = onProgress;
    throw new Error('ort.wasm.bundle.min.mjs has sha384 X, not the pinned Y');
  });
  report({received: 14_000_000, total: 18_700_000}); // the .wasm still streaming in
  assert.deepEqual([engines.engine.kind, engines.browser, engines.progress], ['server', 'failed', null]);
  assert.match(engines.note, /could not start: ort.wasm.bundle.min.mjs has sha384 X/);
});

test('a browser engine that fails at run time hands the same call to the server, for good', async (t) => {
  const {engines, changes, logged} = choice(t, engine('server'));
  await engines.startBrowser(async () => failing('onnxruntime-web failed to run decoder.onnx'));
  const [result, by] = await engines.run((e) => e.decode([3]));
  assert.deepEqual([result, by.kind], [{values: [3], from: 'server'}, 'server']);
  assert.deepEqual(changes.at(-1), ['server', 'failed']);
  assert.equal(engines.note, 'the browser engine failed: onnxruntime-web failed to run decoder.onnx');
  assert.equal(logged.mock.callCount(), 1);
  assert.equal((await engines.run((e) => e.decode([4])))[0].from, 'server');
});

test('the server refusing the input is the visitor\'s error, and a server failure is not a reason to switch', async (t) => {
  const refused = engine('server', async () => {
    throw new VisitorError('z3 must lie in [-13.83, 18.86]');
  });
  const {engines} = choice(t, refused);
  await engines.startBrowser(null);
  assert.deepEqual([engines.browser, engines.note], ['off', 'in-browser inference is off']);
  await assert.rejects(engines.run((e) => e.decode([99])), VisitorError);
  assert.equal(engines.engine, refused);
});

test('with no server, a browser engine that fails at run time stays, and the next call tries it again', async (t) => {
  const {engines} = choice(t, null);
  let calls = 0;
  const flaky = engine('browser', async (z) => {
    calls += 1;
    if (calls === 1) throw new Error('out of memory');
    return {values: z, from: 'browser'};
  });
  await engines.startBrowser(async () => flaky);
  await assert.rejects(engines.run((e) => e.decode([5])), /out of memory/);
  assert.deepEqual([engines.engine, engines.browser], [flaky, 'ready']);
  assert.equal((await engines.run((e) => e.decode([6])))[0].from, 'browser');
});

test('with no server, a browser engine that cannot start leaves no engine and says that the page needs one', async (t) => {
  const {engines} = choice(t, null);
  await engines.startBrowser(async () => {
    throw new Error('this browser has no WebAssembly');
  });
  assert.deepEqual([engines.engine, engines.browser], [null, 'failed']);
  assert.match(engines.note, /could not start: this browser has no WebAssembly; this page needs the model in the browser/);
  await assert.rejects(engines.run((e) => e.decode([6])), /no engine can run the model/);
});
