// The decoded digit, shown at 10x with crisp pixels. For tests and benchmarks, ``#digit`` counts the
// digits painted (``data-paints``), and each paint dispatches a ``vaeport:painted`` event (detail:
// the engine's kind, or "page" for the digit the page opened with, and the decode time in ms).

import {count, element, imageCanvas, paint} from './dom.mjs';

export function createDigit(image) {
  const canvas = imageCanvas(image, 'decoded digit', 'digit-canvas');
  const holder = element('div', {id: 'digit'}, [canvas]);
  return {
    element: holder,

    /** Paint grey bytes that ``engine`` (null: the page's configuration) decoded in ``ms``. */
    show(pixels, engine, ms) {
      paint(canvas, pixels);
      count(holder, 'paints');
      holder.dispatchEvent(new CustomEvent('vaeport:painted', {bubbles: true, detail: {engine: engine?.kind ?? 'page', ms}}));
    },
  };
}
