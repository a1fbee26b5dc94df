// The latent map's ellipses (ui/static/map.mjs): a Gaussian's one-sigma ellipse on the map is its
// projected covariance P diag(exp(logvar)) P^T, on the discriminant plane and on a plane of two dimensions.

import assert from 'node:assert/strict';
import {test} from 'node:test';

import {projectedEllipse} from '../static/map.mjs';
import {LatentMap, createRandom} from '../static/runtime.mjs';
import {readManifest} from './helpers.mjs';

const manifest = readManifest();
const map = LatentMap.fromManifest(manifest);
const d = manifest.latent_dim;

test("an ellipse's radii and angle give back the projected covariance", () => {
  const random = createRandom(5);
  for (const axes of [map.axes, map.dimensionAxes(1, 6)]) {
    const mean = Array.from({length: d}, () => 3 * random.normal());
    const logvar = Array.from({length: d}, () => random.normal());
    const {centre, radii, angle} = projectedEllipse(map, axes, mean, logvar);
    assert.deepEqual(centre, map.project(mean, axes));
    const covariance = (p, q) => logvar.reduce((sum, value, j) => sum + axes[p][j] * axes[q][j] * Math.exp(value), 0);
    const [c, s] = [Math.cos(angle), Math.sin(angle)];
    const [major, minor] = radii.map((r) => r * r);
    const rebuilt = [c * c * major + s * s * minor, c * s * (major - minor), s * s * major + c * c * minor];
    [covariance(0, 0), covariance(0, 1), covariance(1, 1)].forEach((value, k) => assert.ok(Math.abs(value - rebuilt[k]) < 1e-9));
    assert.ok(radii[0] >= radii[1]);
  }
});

test('on a plane of two dimensions, the radii are their sigmas', () => {
  const logvar = Array.from({length: d}, (_, j) => j / 5 - 1);
  const {radii} = projectedEllipse(map, map.dimensionAxes(2, 8), new Array(d).fill(0), logvar);
  assert.deepEqual(radii.map((r) => r.toFixed(12)), [Math.exp(0.5 * logvar[8]), Math.exp(0.5 * logvar[2])].map((r) => r.toFixed(12)));
});
