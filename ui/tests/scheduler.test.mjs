// The page's queue of work (ui/static/scheduler.mjs) apart from a page: the latest values win, one job
// runs at a time, late results are dropped when the job says so, and errors are reported, not lost.

import assert from 'node:assert/strict';
import {test} from 'node:test';

import {Scheduler} from '../static/scheduler.mjs';

/** A scheduler on frames from ``nextFrame`` (by default at once), and the reports it gave, each a promise to await in turn. */
function scheduler(nextFrame = () => new Promise((resolve) => setImmediate(resolve))) {
  const reports = [];
  const waiting = [];
  const queue = new Scheduler({
    nextFrame,
    report: (error) => (waiting.length ? waiting.shift()(error) : reports.push(error)),
  });
  const nextReport = () => (reports.length ? Promise.resolve(reports.shift()) : new Promise((resolve) => waiting.push(resolve)));
  queue.setReady(true);
  return {queue, nextReport};
}

/** A promise with its resolve and reject at hand. */
function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((yes, no) => ([resolve, reject] = [yes, no]));
  return {promise, resolve, reject};
}

test('a job asked for again before it started replaces the waiting one', async () => {
  const {queue, nextReport} = scheduler();
  const shown = [];
  for (const value of [1, 2, 3, 4]) queue.want('sample', {run: async () => value, show: (result) => shown.push(result)});
  await nextReport();
  await nextReport();
  assert.deepEqual(shown, [1, 4]); // the first started at once; of those asked for meanwhile, the latest
});

test('an idle queue starts a job at once, and the jobs after it one animation frame each', async () => {
  const frames = [];
  const {queue, nextReport} = scheduler(() => new Promise((resolve) => frames.push(resolve)));
  const started = [];
  for (const kind of ['a', 'b', 'c']) queue.want(kind, {run: async () => started.push(kind), show: () => {}});
  assert.deepEqual(started, ['a'], 'started within the call that asked for it');
  await nextReport();
  assert.deepEqual(started, ['a']);
  const nextFrame = async () => {
    while (!frames.length) await new Promise((resolve) => setImmediate(resolve));
    frames.shift()();
  };
  await nextFrame();
  await nextReport();
  assert.deepEqual(started, ['a', 'b']);
  await nextFrame();
  await nextReport();
  assert.deepEqual(started, ['a', 'b', 'c']);
});

test('jobs run one at a time, in the order they were asked for', async () => {
  const {queue, nextReport} = scheduler();
  const log = [];
  const first = deferred();
  queue.want('a', {run: () => (log.push('a starts'), first.promise), show: () => log.push('a shown')});
  queue.want('b', {run: async () => log.push('b starts'), show: () => log.push('b shown')});
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(log, ['a starts']); // b waits for a
  first.resolve();
  await nextReport();
  await nextReport();
  assert.deepEqual(log, ['a starts', 'a shown', 'b starts', 'b shown']);
});

test('a result that arrives after the visitor touched the page is dropped when its job says so', async () => {
  const {queue, nextReport} = scheduler();
  const shown = [];
  for (const dropIfLate of [true, false]) {
    const answer = deferred();
    queue.want('job', {run: () => answer.promise, show: (result) => shown.push(result), dropIfLate});
    await new Promise((resolve) => setTimeout(resolve, 10));
    queue.touch();
    answer.resolve(dropIfLate ? 'dropped' : 'kept');
    assert.equal(await nextReport(), null);
  }
  assert.deepEqual(shown, ['kept']);
  queue.want('job', {run: async () => 'in time', show: (result) => shown.push(result), dropIfLate: true});
  await nextReport();
  assert.deepEqual(shown, ['kept', 'in time']); // a touch before the job started does not drop it
});

test('a job asked for before a touch is dropped even when it waited and started after it', async () => {
  const {queue, nextReport} = scheduler();
  const shown = [];
  const busy = deferred();
  queue.want('slide', {run: () => busy.promise, show: (result) => shown.push(result)});
  queue.want('tile', {run: async () => 'tile sample', show: (result) => shown.push(result), dropIfLate: true});
  queue.touch(); // the visitor moves a slider while the tile's sample waits its turn
  busy.resolve('slide');
  await nextReport();
  await nextReport();
  assert.deepEqual(shown, ['slide']);
});

test('an error is reported and the queue carries on', async () => {
  const {queue, nextReport} = scheduler();
  const shown = [];
  queue.want('broken', {run: async () => 1, show: () => {
    throw new TypeError('a bug in show');
  }});
  queue.want('fine', {run: async () => 2, show: (result) => shown.push(result)});
  const error = await nextReport();
  assert.ok(error instanceof TypeError && error.message === 'a bug in show');
  assert.equal(await nextReport(), null);
  assert.deepEqual(shown, [2]);
});

test('a cancelled job never runs, and nothing runs until the scheduler is ready', async () => {
  const {queue, nextReport} = scheduler();
  queue.setReady(false);
  const ran = [];
  queue.want('draw', {run: async () => ran.push('draw'), show: () => {}});
  queue.want('slide', {run: async () => ran.push('slide'), show: () => {}});
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(ran, []);
  queue.cancel('draw');
  queue.setReady(true);
  await nextReport();
  assert.deepEqual(ran, ['slide']);
});
