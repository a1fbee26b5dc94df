// The latent map in the browser runtime: the shipped manifest's map read as the Python runtime
// reads it, and a point of the map turned back into z.

import assert from 'node:assert/strict';
import {test} from 'node:test';

import {InputError, LatentMap, createRandom} from '../static/runtime.mjs';
import {maxAbsDifference, pythonReference, readManifest} from './helpers.mjs';

const manifest = readManifest();
const map = LatentMap.fromManifest(manifest);
const d = manifest.latent_dim;

test('the points and the projection are the Python runtime\'s', () => {
  const random = createRandom(3);
  const n = 8;
  const z = Float32Array.from({length: n * d}, () => 4 * random.normal());
  const python = pythonReference('map', z, n);
  const projected = Array.from({length: n}, (_, i) => map.project(z.subarray(i * d, (i + 1) * d))).flat();
  assert.ok(maxAbsDifference(Float32Array.from(projected), python.subarray(0, 2 * n)) <= 1e-5);
  assert.equal(map.points.length, python.length - 2 * n);
  assert.ok(maxAbsDifference(Float32Array.from(map.points), python.subarray(2 * n)) <= 1e-5);
  assert.equal(map.digits.length, map.points.length / d);
  assert.deepEqual([...new Set(map.digits)], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('a point of the map turns back into z, the part of z off the plane unchanged', () => {
  const random = createRandom(4);
  for (const axes of [map.axes, map.dimensionAxes(2, 7)]) {
    const z = Array.from({length: d}, () => 3 * random.normal());
    const point = [random.normal() * 5, random.normal() * 5];
    const moved = map.place(z, point, axes);
    map.project(moved, axes).forEach((value, i) => assert.ok(Math.abs(value - point[i]) < 1e-9));
    const offPlane = (v) => {
      const [x, y] = map.project(v, axes);
      return v.map((value, j) => value - map.centre[j] - x * axes[0][j] - y * axes[1][j]);
    };
    assert.ok(maxAbsDifference(Float64Array.from(offPlane(moved)), Float64Array.from(offPlane(z))) < 1e-9);
  }
  assert.throws(() => map.dimensionAxes(3, 3), InputError);
  assert.throws(() => map.place(new Array(d).fill(0), [1, Number.NaN]), /a map point must be two finite numbers/);
  assert.throws(() => map.project(new Array(d - 1).fill(0)), /z must be 10 finite numbers/);
});

test('a manifest without a map has none', () => {
  const {map: _, ...rest} = manifest;
  assert.equal(LatentMap.fromManifest(rest), null);
});
