// The browser engine's download count (ui/static/progress.mjs): the bytes of every file against the
// sizes known beforehand, as the status line shows them.

import assert from 'node:assert/strict';
import {test} from 'node:test';

import {Downloads, progressText} from '../static/progress.mjs';

test('the downloads sum the bytes received of each file against all the sizes', () => {
  const seen = [];
  const downloads = new Downloads({wasm: 3_000_000, 'decoder.int8.onnx': 1_600_000}, (progress) => seen.push(progress));
  assert.deepEqual(downloads.progress(), {received: 0, total: 4_600_000});
  const wasm = downloads.track('wasm');
  wasm(1_000_000);
  wasm(2_000_000); // the bytes so far, not a chunk's: the later count replaces the earlier
  downloads.track('decoder.int8.onnx')(100_000);
  assert.deepEqual(seen, [
    {received: 1_000_000, total: 4_600_000},
    {received: 2_000_000, total: 4_600_000},
    {received: 2_100_000, total: 4_600_000},
  ]);
  assert.equal(progressText(seen.at(-1)), '2.1 of 4.6 MB');
});

test('a file longer than its size counts its real length, so received never passes the total', () => {
  const downloads = new Downloads({module: 100}, () => {});
  downloads.track('module')(150);
  assert.deepEqual(downloads.progress(), {received: 150, total: 150});
});

test('a download the sizes do not name is refused, naming those they do', () => {
  const downloads = new Downloads({module: 1, wasm: 2}, () => {});
  assert.throws(() => downloads.track('encoder.onnx'), /no download named encoder.onnx; expected one of module, wasm/);
});
