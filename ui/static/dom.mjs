// What the page's widgets share: building elements, painting grey images, and the base64 and byte
// forms in which images travel between the engines and the page.

import {base64Bytes} from './runtime.mjs';

/** An element with attributes (``text`` sets its text) and children. */
export function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

/** A canvas of an image's own size (``[height, width]``) that CSS enlarges with crisp pixels. */
export function imageCanvas([height, width], label, className = '') {
  return element('canvas', {class: className, width, height, role: 'img', 'aria-label': label});
}

/** Paint grey bytes, row by row, onto a canvas of the image's own size. */
export function paint(canvas, grey) {
  const context = canvas.getContext('2d');
  const picture = context.createImageData(canvas.width, canvas.height);
  for (let i = 0; i < grey.length; i++) {
    picture.data[4 * i] = picture.data[4 * i + 1] = picture.data[4 * i + 2] = grey[i];
    picture.data[4 * i + 3] = 255;
  }
  context.putImageData(picture, 0, 0);
}

/** Add a counter to ``node``'s ``data-<name>`` (the tests and the benchmark read them). */
export function count(node, name) {
  node.dataset[name] = String(Number(node.dataset[name] ?? 0) + 1);
}

/** The bytes of base64 ``text`` (an image the server sent, a manifest's pixels). */
export function fromBase64(text) {
  const bytes = base64Bytes(text);
  if (!bytes) throw new Error(`expected base64 text; got ${String(text).slice(0, 40)}`);
  return bytes;
}

export function toBase64(bytes) {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

/** Float pixels in [0, 1] as grey bytes (to the nearest level; numpy rounds halves to even, so a pixel
 * exactly between two levels may differ by one from the server's). */
export function toBytes(image) {
  return Uint8ClampedArray.from(image, (v) => Math.round(v * 255));
}
