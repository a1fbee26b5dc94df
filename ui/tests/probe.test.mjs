// The browser benchmark's probe (benchmarks/browser/probe.mjs), apart from a page: what it records
// from the page's events, and how it reads those records.

import assert from 'node:assert/strict';
import {describe, test} from 'node:test';

import {
  dragValue,
  meanCallMs,
  newTimes,
  paintOfInput,
  quietFor,
  recorder,
  settledClick,
} from '../../benchmarks/browser/probe.mjs';

/** A recorder on a clock the test sets, whose frame and readout callbacks run when the test says. */
function recording() {
  const times = newTimes();
  const clock = {now: 0};
  const frames = [];
  const readouts = [];
  const flushed = [];
  const record = recorder(times, {
    clock: () => clock.now,
    afterFrame: (callback) => frames.push(callback),
    afterReadouts: (callback) => readouts.push(callback),
    flush: (target) => {
      flushed.push(target);
      clock.now += 0.5; // the rasterisation takes half a millisecond
    },
  });
  const at = (ms) => (clock.now = ms);
  const frame = (start) => {
    at(start);
    for (const callback of frames.splice(0)) callback(start);
  };
  const readoutsChange = (ms) => {
    at(ms);
    for (const callback of readouts.splice(0)) callback();
  };
  return {times, record, at, frame, readoutsChange, flushed};
}

const slider = {target: {type: 'range'}};
const painted = (engine, ms) => ({detail: {engine, ms}});
const onCanvas = (className, buttons = 1) => ({target: {classList: {contains: (name) => name === className}}, buttons});
const onPad = (buttons = 1) => onCanvas('pad-canvas', buttons);

describe('a slider input and its digit', () => {
  test('are paired once the frames after both have started', () => {
    const {times, record, at, frame} = recording();
    at(100);
    record.input(slider);
    assert.equal(paintOfInput(times, 0, 0), null, 'no frame yet after the input');
    at(101.5);
    record.painted(painted('browser', 0.3));
    assert.equal(paintOfInput(times, 0, 0), null, 'the frame after the paint has not started');
    frame(116.7);
    assert.deepEqual(paintOfInput(times, 0, 0), {
      input: {at: 100, source: 'slider', frame: 116.7},
      paint: {at: 101.5, engine: 'browser', ms: 0.3, shown: 116.7},
    });
    assert.equal(times.last, 101.5);
  });

  test('a digit painted during its input, before the frame\'s callbacks ran, is shown at the next frame', () => {
    const {times, record, at, frame} = recording();
    at(100.2);
    record.input(slider);
    record.painted(painted('browser', 0.3));
    frame(100); // the input's own frame: its callbacks carry its start, before the paint
    assert.equal(times.paints[0].shown, undefined);
    frame(116.7);
    assert.deepEqual(paintOfInput(times, 0, 0), {
      input: {at: 100.2, source: 'slider', frame: 100},
      paint: {at: 100.2, engine: 'browser', ms: 0.3, shown: 116.7},
    });
  });

  test('skip the paints that came before the input or belong to earlier inputs', () => {
    const {times, record, at, frame} = recording();
    at(10);
    record.painted(painted('server', 4));
    frame(16);
    at(20);
    record.input(slider);
    frame(33);
    assert.equal(paintOfInput(times, 0, 0), null, 'the paint at 10 came before the input at 20');
    at(40);
    record.painted(painted('server', 5));
    frame(50);
    assert.equal(paintOfInput(times, 0, 1).paint.at, 40);
    assert.equal(paintOfInput(times, 0, 2), null, 'no paint from the third on');
  });

  test('only inputs on a range count', () => {
    const {times, record} = recording();
    record.input({target: {type: 'text'}});
    assert.deepEqual(times.inputs, []);
  });
});

test('a press on the latent map is an input, paired with its digit as a slider input is', () => {
  const {times, record, at, frame} = recording();
  at(50);
  record.pointerdown(onCanvas('map-canvas'));
  record.pointermove(onCanvas('map-canvas'));
  frame(66);
  at(58);
  record.painted(painted('browser', 0.2));
  frame(83);
  assert.deepEqual(paintOfInput(times, 0, 0).input, {at: 50, source: 'map', frame: 66});
  assert.deepEqual(times.pad, {down: [], up: [], moves: 0}, 'the map is not the pad');
});

test("each frame of the map is recorded with its drawing time, and with the rasterisation it asked for", () => {
  const {times, record, at, flushed} = recording();
  const map = {id: 'map'};
  at(10);
  record.mapDrawn({target: map, detail: {ms: 0.25}});
  assert.deepEqual(times.mapFrames, [{ms: 0.25, flushed: 0.75}]);
  assert.deepEqual(flushed, [map]);
});

test('a tile click is settled once its sliders were set and a digit was painted after it', () => {
  const {times, record, at, readoutsChange} = recording();
  record.click({target: {closest: () => null}});
  assert.deepEqual(times.clicks, [], 'a click off the tiles');
  at(200);
  record.click({target: {closest: (selector) => (selector === '.tile' ? {} : null)}});
  assert.equal(settledClick(times, 0), null);
  readoutsChange(209.5);
  assert.equal(settledClick(times, 0), null, 'no digit painted after the click yet');
  at(215);
  record.painted(painted('browser', 0.3));
  assert.deepEqual(settledClick(times, 0), {at: 200, set: 209.5});
  assert.equal(settledClick(times, 1), null);
});

test('pad strokes count the moves with a button down between pen down and up', () => {
  const {times, record, at} = recording();
  at(5);
  record.pointerdown(onPad());
  record.pointermove(onPad());
  record.pointermove(onPad(0));
  record.pointermove({target: {}, buttons: 1});
  at(9);
  record.pointerup(onPad());
  assert.deepEqual(times.pad, {down: [5], up: [9], moves: 1});
  assert.equal(times.last, 0, 'pointer events alone do not unsettle the page');
});

test('the root records when the page was built, showed the download\'s size, ran the sliders in the browser and had its encoder, once each', () => {
  const {times, record, at} = recording();
  record.root(null);
  at(700);
  record.root({dataset: {engine: 'none', browser: 'loading'}}, 'loading the model in this browser…');
  at(750);
  record.root({dataset: {engine: 'none', browser: 'loading'}}, 'loading the model in this browser: 0.0 of 3.2 MB');
  at(800);
  record.root({dataset: {engine: 'none', browser: 'loading'}}, 'loading the model in this browser: 0.1 of 3.2 MB');
  at(1000);
  record.root({dataset: {engine: 'browser', browser: 'loading'}}, 'loading the model in this browser: 2.9 of 3.2 MB');
  at(1200);
  record.root({dataset: {engine: 'browser', browser: 'ready'}});
  at(1300);
  record.root({dataset: {engine: 'browser', browser: 'ready'}});
  assert.deepEqual([times.built, times.progress, times.sliders, times.ready], [700, 750, 1000, 1200]);
});

test('the page is quiet after a stretch without inputs, paints or encodes', () => {
  const {times, record, at} = recording();
  at(1000);
  record.encoded();
  assert.deepEqual(times.encodes, [1000]);
  assert.equal(quietFor(times, 1300, 300), false);
  assert.equal(quietFor(times, 1301, 300), true);
});

test('a fast drag stays in the middle 60% of the slider and keeps moving', () => {
  const values = Array.from({length: 200}, (_, frame) => dragValue(-2, 3, frame));
  assert.ok(values.every((value) => value >= -1 - 1e-12 && value <= 2 + 1e-12));
  assert.ok(values.every((value, frame) => frame === 0 || value !== values[frame - 1]));
});

test('call times are the mean over calls made one after another', async () => {
  let now = 0;
  let running = 0;
  const call = async () => {
    running += 1;
    assert.equal(running, 1, 'a call starts only after the one before it ended');
    await new Promise((resolve) => setTimeout(resolve, 1));
    now += 0.25;
    running -= 1;
  };
  assert.equal(await meanCallMs(call, 8, () => now), 0.25);
});
