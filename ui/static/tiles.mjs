// The example tiles: the reconstruction of one test digit per class; a click asks for a sample from
// that digit's posterior.

import {element, fromBase64, imageCanvas, paint} from './dom.mjs';

/** ``tiles``: [{digit, pixels (base64 grey bytes)}]; ``picked(digit)`` on each click. */
export function createTiles(tiles, image, picked) {
  const holder = element('div', {id: 'tiles', class: 'thumbs'});
  for (const {digit, pixels} of tiles) {
    const picture = imageCanvas(image, `example ${digit}`);
    paint(picture, fromBase64(pixels));
    holder.append(element('button', {type: 'button', class: 'tile', 'data-digit': digit, title: `sample a ${digit}`}, [picture]));
  }
  holder.addEventListener('click', (event) => {
    const tile = event.target.closest('[data-digit]');
    if (tile) picked(Number(tile.dataset.digit));
  });
  return {
    element: element('section', {class: 'panel'}, [element('h3', {text: 'Examples: click one to sample from its posterior, a new sample every click'}), holder]),
  };
}
