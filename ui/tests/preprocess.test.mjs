// One drawing recipe in both runtimes: real MNIST test digits, enlarged to the sizes the pad works
// at, and symmetric shapes drawn there, become the same 28x28 image through the browser runtime as
// through the Python runtime, in grey and in colour.

import assert from 'node:assert/strict';
import {test} from 'node:test';

import {
  ELBO_LOG_FLOOR,
  EmptyDrawingError,
  InputError,
  MAP_LEVELS,
  MAP_ORTHONORMAL_TOLERANCE,
  RECIPE,
  WEIGHT_SUM_TOLERANCE,
  loadModel,
  preprocessDrawing,
} from '../static/runtime.mjs';
import {
  SHIPPED_MODEL,
  folderReader,
  maxAbsDifference,
  mnistTestDigits,
  onnxruntimeWeb,
  pythonConstants,
  pythonReference,
} from './helpers.mjs';

const DIGITS = 150;
const PIXEL_TOLERANCE = 1e-5; // of a pixel's full range [0, 1]
const MU_TOLERANCE = 1e-4;

/** A 28x28 digit enlarged ``factor`` times by repeating pixels: a drawing at pad size, white on black. */
function enlarge(digit, factor) {
  const side = 28 * factor;
  const drawing = new Uint8Array(side * side);
  for (let r = 0; r < side; r++) {
    for (let c = 0; c < side; c++) drawing[r * side + c] = digit[Math.floor(r / factor) * 28 + Math.floor(c / factor)];
  }
  return drawing;
}

/** Mirror-symmetric drawings, whose centre of mass lies exactly on a pixel or half a pixel: bars and rings. */
function symmetricShapes(side) {
  const shapes = [];
  for (let width = 1; width <= 30; width++) {
    const bar = new Uint8Array(side * side);
    for (let r = 20; r < side - 20; r++) bar.fill(255, r * side + 40, r * side + 40 + width);
    shapes.push(bar);
  }
  for (let radius = 8; radius <= 48; radius += 4) {
    const ring = new Uint8Array(side * side);
    for (let r = 0; r < side; r++) {
      for (let c = 0; c < side; c++) {
        const distance = Math.hypot(r - side / 2 + 0.5, c - side / 2 + 0.5);
        if (Math.abs(distance - radius) < 3) ring[r * side + c] = 255;
      }
    }
    shapes.push(ring);
  }
  return shapes;
}

function concat(arrays, Type) {
  const out = new Type(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const array of arrays) {
    out.set(array, at);
    at += array.length;
  }
  return out;
}

/** Both runtimes' images of ``drawings`` (uint8, side x side x channels each), and their largest difference. */
function bothRuntimes(drawings, side, channels = 1, ink = 'light') {
  const expected = pythonReference('preprocess', concat(drawings, Uint8Array), drawings.length, [
    '--side', String(side), '--channels', String(channels), '--ink', ink,
  ]);
  const seen = concat(drawings.map((data) => preprocessDrawing({data, width: side, height: side, channels}, {ink, field: 28})), Float32Array);
  return {seen, expected, pixelError: maxAbsDifference(seen, expected)};
}

for (const factor of [4, 10]) {
  const side = 28 * factor;
  test(`${DIGITS} MNIST test digits drawn at ${side}x${side} become the same image in both runtimes`, async (t) => {
    const {seen, expected, pixelError} = bothRuntimes(mnistTestDigits(DIGITS).map((digit) => enlarge(digit, factor)), side);
    assert.ok(pixelError <= PIXEL_TOLERANCE, `largest pixel difference ${pixelError}`);
    const model = await loadModel(onnxruntimeWeb(), {read: folderReader(SHIPPED_MODEL)});
    const muError = maxAbsDifference((await model.encode(seen, DIGITS)).mu, (await model.encode(expected, DIGITS)).mu);
    assert.ok(muError <= MU_TOLERANCE, `largest difference in mu ${muError}`);
    t.diagnostic(`largest difference: ${pixelError.toExponential(2)} in a pixel, ${muError.toExponential(2)} in mu`);
  });
}

test('symmetric drawings, centred on a half pixel, are shifted alike in both runtimes', () => {
  const {pixelError} = bothRuntimes(symmetricShapes(112), 112);
  assert.ok(pixelError <= PIXEL_TOLERANCE, `largest pixel difference ${pixelError}`);
});

test('colour drawings, dark ink on light and light on transparent, agree with Python too', () => {
  const side = 112;
  const digits = mnistTestDigits(40).map((digit) => enlarge(digit, 4));
  const rgb = digits.map((grey) => Uint8Array.from({length: grey.length * 3}, (_, i) => 255 - grey[Math.floor(i / 3)] * (1 - (i % 3) * 0.2)));
  const rgba = digits.map((grey) => Uint8Array.from({length: grey.length * 4}, (_, i) => (i % 4 === 3 ? grey[i >> 2] : 40)));
  for (const [drawings, channels, ink] of [[rgb, 3, 'auto'], [rgb, 3, 'dark'], [rgba, 4, 'auto']]) {
    const {pixelError} = bothRuntimes(drawings, side, channels, ink);
    assert.ok(pixelError <= PIXEL_TOLERANCE, `${channels} channels, ink ${ink}: largest pixel difference ${pixelError}`);
  }
});

test("the recipe's constants are Python's", () => {
  const python = pythonConstants('recipe');
  assert.deepEqual(
    {...RECIPE, LUMA: RECIPE.LUMA.map(Math.fround), WEIGHT_SUM_TOLERANCE, MAP_LEVELS, MAP_ORTHONORMAL_TOLERANCE, ELBO_LOG_FLOOR},
    {...python, LUMA: python.LUMA.map(Math.fround)},
  );
});

test('an empty drawing and malformed drawings are refused with a reason', () => {
  const blank = {data: new Uint8Array(112 * 112), width: 112, height: 112};
  assert.throws(() => preprocessDrawing(blank, {field: 28}), EmptyDrawingError);
  assert.throws(() => preprocessDrawing({...blank, width: 100}, {field: 28}), /needs 11200 values; got 12544/);
  assert.throws(() => preprocessDrawing({...blank, channels: 2}, {field: 28}), InputError);
  assert.throws(() => preprocessDrawing(blank, {ink: 'blue', field: 28}), /ink must be/);
  assert.throws(() => preprocessDrawing({...blank, data: Array.from(blank.data)}, {field: 28}), /must be a Uint8Array/);
  assert.throws(() => preprocessDrawing({...blank, data: new Float32Array(112 * 112).fill(255)}, {field: 28}), /outside \[0, 1\]/);
});
