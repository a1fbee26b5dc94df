// The morph strip: the straight line in latent space between two examples' mu, decoded frame by frame.

import {element, fromBase64, imageCanvas, paint} from './dom.mjs';

/** ``morph``: {digits, from, to, frames (base64 grey bytes)}; ``changed()`` when an end is chosen. */
export function createMorph(morph, image, changed) {
  const options = () => morph.digits.map((digit) => element('option', {value: digit, text: digit}));
  const from = element('select', {'aria-label': 'morph from'}, options());
  const to = element('select', {'aria-label': 'morph to'}, options());
  from.value = morph.from;
  to.value = morph.to;
  const strip = element('div', {id: 'morph', class: 'thumbs'});
  for (const select of [from, to]) select.addEventListener('change', changed);

  const widget = {
    element: element('section', {class: 'panel'}, [
      element('h3', {text: 'Morph from one example to another'}),
      element('div', {class: 'morph'}, [from, strip, to]),
    ]),

    /** The chosen examples' digits, [first, second]. */
    ends() {
      return [Number(from.value), Number(to.value)];
    },

    /** Show frames of grey bytes. */
    show(frames) {
      strip.replaceChildren(
        ...frames.map((pixels, index) => {
          const frame = imageCanvas(image, `frame ${index}`);
          paint(frame, pixels);
          return frame;
        }),
      );
    },
  };
  widget.show(morph.frames.map(fromBase64));
  return widget;
}
