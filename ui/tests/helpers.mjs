// What the JavaScript tests share: onnxruntime-web in Node, the shipped model, MNIST's test digits,
// and the Python runtime's answers to compare with.

import {execFileSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {readFile} from 'node:fs/promises';
import {createRequire} from 'node:module';
import {tmpdir} from 'node:os';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';

import * as ort from 'onnxruntime-web/wasm';

import {setUpWasm} from '../static/runtime.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(here, '..', '..');
export const SHIPPED_MODEL = join(REPO, 'exported');
export const STATIC = join(REPO, 'ui', 'static');
export const ORT_DIST = dirname(createRequire(import.meta.url).resolve('onnxruntime-web/wasm'));
const DATA_ROOT = process.env.VAEPORT_DATA_ROOT ?? resolve(REPO, '..', 'shared', 'data');
// The Python with vaeport installed (the project's virtual environment, active when the tests run).
const PYTHON = process.env.PYTHON ?? 'python3';

const ORT_WEB = JSON.parse(readFileSync(join(STATIC, 'ort-web.json'), 'utf8'));

/** onnxruntime-web's wasm backend as the page sets it up, its .wasm read from the npm package. */
export function onnxruntimeWeb() {
  return setUpWasm(ort, ort.env.wasm.wasmBinary ?? readFileSync(join(ORT_DIST, ORT_WEB.wasm.file)));
}

/** The ``read`` a model folder on disk gives ``loadModel``. */
export function folderReader(folder) {
  return (name) => readFile(join(folder, name));
}

export function readManifest(folder = SHIPPED_MODEL) {
  return JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8'));
}

/** Hex SHA-256 of a file, as an export records it. */
export function sha256File(path) {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Rename the output ``from`` of the ONNX graph at ``path`` to ``to``, in place (with the onnx package). */
export function renameGraphOutput(path, from, to) {
  const script = `
import sys, onnx
path, old, new = sys.argv[1:]
graph = onnx.load(path)
for node in graph.graph.node:
    node.output[:] = [new if name == old else name for name in node.output]
for output in graph.graph.output:
    output.name = new if output.name == old else output.name
onnx.save(graph, path)
`;
  execFileSync(PYTHON, ['-c', script, path, from, to], {stdio: ['ignore', 'ignore', 'inherit']});
}

/** The first ``count`` MNIST test digits as uint8 28 x 28 images, from the IDX file torchvision keeps. */
export function mnistTestDigits(count) {
  const path = join(DATA_ROOT, 'MNIST', 'raw', 't10k-images-idx3-ubyte');
  const file = readFileSync(path);
  const [rows, cols] = [file.readUInt32BE(8), file.readUInt32BE(12)];
  return Array.from({length: count}, (_, i) => file.subarray(16 + i * rows * cols, 16 + (i + 1) * rows * cols));
}

/**
 * Run ui/tests/python_reference.py's ``operation`` on ``input`` (bytes or text, or null for none) in a
 * folder of its own; the bytes it wrote.
 */
function runReference(operation, input, count, options = []) {
  const folder = mkdtempSync(join(tmpdir(), 'vaeport-reference-'));
  try {
    const [inPath, outPath] = [join(folder, 'in'), join(folder, 'out')];
    if (input !== null) writeFileSync(inPath, input);
    execFileSync(PYTHON, [join(here, 'python_reference.py'), operation, input === null ? '-' : inPath, outPath, String(count), ...options], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    return readFileSync(outPath);
  } finally {
    rmSync(folder, {recursive: true, force: true});
  }
}

/**
 * What the Python runtime computes for ``input`` (a typed array of ``count`` items), as a Float32Array
 * (a Float64Array for "elbo").
 */
export function pythonReference(operation, input, count, options = []) {
  const bytes = runReference(operation, new Uint8Array(input.buffer, input.byteOffset, input.byteLength), count, options);
  const Numbers = operation === 'elbo' ? Float64Array : Float32Array;
  return new Numbers(Uint8Array.from(bytes).buffer); // a copy: the file's bytes need not lie aligned
}

/** What the demo server's page functions answer to ``calls`` ([name, argument] each), in one Python run. */
export function pythonPageAnswers(calls) {
  return JSON.parse(String(runReference('page', JSON.stringify(calls), calls.length)));
}

/**
 * Constants of the Python side, by python_reference.py's ``operation``: "recipe" (the drawing recipe
 * and the prior's checks) or "contract" (the ONNX contract and the manifest's free-form records).
 */
export function pythonConstants(operation) {
  return JSON.parse(String(runReference(operation, null, 0)));
}

/** The largest absolute difference between two arrays of equal length. */
export function maxAbsDifference(a, b) {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} and ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}
