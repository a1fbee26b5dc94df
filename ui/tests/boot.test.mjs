// ui/static/boot.js, run as Gradio runs js_on_load (the body of a function of element, props and
// server): it imports the page's module from the assets folder and starts the demo, or says why not.

import assert from 'node:assert/strict';
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {pathToFileURL} from 'node:url';
import {test} from 'node:test';

import {STATIC} from './helpers.mjs';

const boot = new Function('element', 'props', 'server', readFileSync(join(STATIC, 'boot.js'), 'utf8'));

/** Run boot.js with a page module at assets/page.mjs that ``source`` writes; the element it wrote to. */
async function booted(source, page = 'page.mjs') {
  const assets = mkdtempSync(join(tmpdir(), 'vaeport-boot-'));
  writeFileSync(join(assets, 'page.mjs'), source);
  globalThis.document = {baseURI: pathToFileURL(`${assets}/`).href};
  const element = {textContent: ''};
  const server = {decode: () => {}};
  globalThis.started = null;
  boot(element, {value: {assets: './', page}}, server);
  for (let i = 0; i < 100 && !globalThis.started && !element.textContent; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  return {element, server};
}

test('it starts the page module in the element, with the configuration and the server functions', async () => {
  const {element, server} = await booted('export function start(...args) { globalThis.started = args; }');
  const [where, config, functions] = globalThis.started;
  assert.equal(where, element);
  assert.deepEqual(config, {assets: './', page: 'page.mjs'});
  assert.equal(functions, server);
});

test('a page module that cannot load is said in the element', async () => {
  const {element} = await booted('', 'missing.mjs');
  assert.match(element.textContent, /^The demo could not start: Cannot find module/);
});
