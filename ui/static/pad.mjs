// The drawing pad: white strokes on black, read as a small grey downsample for the encoder, and under
// it the 28x28 image the encoder saw. For tests and benchmarks, ``#pad`` counts the drawings encoded
// (``data-encodes``), and each dispatches a ``vaeport:encoded`` event.

import {count, element, imageCanvas, paint} from './dom.mjs';

/**
 * ``pad``: {side (canvas pixels, one per CSS pixel), send (the downsample's side), brush (stroke
 * width)}. ``started()`` as a stroke begins, ``stroked()`` after every piece of stroke drawn, ``cleared()``
 * after Clear.
 */
export function createPad({side, send, brush}, image, {started, stroked, cleared}) {
  const canvas = element('canvas', {class: 'pad-canvas', width: side, height: side, 'aria-label': 'drawing pad: draw a digit'});
  canvas.style.width = canvas.style.height = `${side}px`;
  const holder = element('div', {id: 'pad'}, [canvas]);
  const seen = imageCanvas(image, 'what the encoder sees', 'seen');
  const view = element('figure', {class: 'encoder-view empty'}, [
    seen,
    element('div', {class: 'hint', text: 'draw a digit on the pad'}),
    element('figcaption', {text: `what the encoder sees (${image[0]}x${image[1]})`}),
  ]);
  const clear = element('button', {type: 'button', class: 'pad-clear', text: 'Clear'});

  const ink = canvas.getContext('2d');
  const small = element('canvas', {width: send, height: send}).getContext('2d', {willReadFrequently: true});
  small.imageSmoothingQuality = 'high';
  const blank = () => {
    ink.fillStyle = '#000';
    ink.fillRect(0, 0, side, side);
  };
  const at = (event) => {
    // Within the canvas's content box: its CSS border is not part of the drawing.
    const box = canvas.getBoundingClientRect();
    const [x, y] = [event.clientX - box.left - canvas.clientLeft, event.clientY - box.top - canvas.clientTop];
    return [(x * side) / canvas.clientWidth, (y * side) / canvas.clientHeight];
  };
  // One stroke at a time, by the pointer that began it with its primary button (a mouse's left
  // button, a pen's tip, a first finger); it ends when that pointer lifts or the canvas loses it.
  let last = null;
  let pointer = null;
  const line = (points) => {
    ink.beginPath();
    ink.moveTo(...last);
    for (const point of points) ink.lineTo(...point);
    ink.stroke();
    last = points.at(-1);
    stroked();
  };
  const end = (event) => {
    if (event.pointerId === pointer) last = pointer = null;
  };
  canvas.addEventListener('pointerdown', (event) => {
    if (event.button !== 0 || pointer !== null) return;
    pointer = event.pointerId;
    canvas.setPointerCapture(pointer);
    Object.assign(ink, {strokeStyle: '#fff', lineWidth: brush, lineCap: 'round', lineJoin: 'round'});
    last = at(event);
    started();
    line([last]);
  });
  canvas.addEventListener('pointermove', (event) => {
    if (event.pointerId !== pointer) return;
    if (!(event.buttons & 1)) return end(event); // its release was lost (a blur, a context menu)
    const samples = event.getCoalescedEvents?.() ?? [];
    line((samples.length ? samples : [event]).map(at)); // every sample of the move, one encode after them
  });
  for (const name of ['pointerup', 'pointercancel', 'lostpointercapture']) canvas.addEventListener(name, end);
  clear.addEventListener('click', () => {
    blank();
    cleared();
  });
  blank();

  return {
    element: element('section', {class: 'panel pad-panel'}, [element('h3', {text: 'Draw a digit'}), holder, clear, view]),

    /** The drawing as the encoder's preprocessing takes it: {data (grey bytes), width, height}. */
    read() {
      small.drawImage(canvas, 0, 0, send, send);
      const rgba = small.getImageData(0, 0, send, send).data;
      const grey = new Uint8Array(send * send);
      for (let i = 0; i < grey.length; i++) grey[i] = rgba[4 * i];
      return {data: grey, width: send, height: send};
    },

    /** What the encoder saw, as grey bytes, or null for nothing (the pad is empty). */
    showSeen(pixels) {
      view.classList.toggle('empty', !pixels);
      if (pixels) paint(seen, pixels);
    },

    /** Count one drawing encoded and shown. */
    encoded() {
      count(holder, 'encodes');
      holder.dispatchEvent(new CustomEvent('vaeport:encoded', {bubbles: true}));
    },
  };
}
