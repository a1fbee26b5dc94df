// The latent sliders: one range input per latent dimension, its value beside it, and the posterior's
// mu +- sigma as a band behind it when the values came from a drawing or a tile.

import {element} from './dom.mjs';

/**
 * How the page puts z on its sliders: each value clipped to its slider's ``[low, high]`` and rounded
 * to ``decimals`` (the sliders' step), as handlers.slider_values does on the server.
 */
export function sliderGrid(ranges, decimals) {
  const scale = 10 ** decimals;
  return (z) => Array.from(z, (value, i) => Math.round(Math.min(Math.max(value, ranges[i][0]), ranges[i][1]) * scale) / scale);
}

/** The sliders of ``config`` (``sliders``: [low, high] each, ``step``, ``decimals``); ``moved()`` on every input. */
export function createSliders({sliders, step, decimals}, moved) {
  const rows = sliders.map(([low, high], index) => {
    const range = element('input', {type: 'range', min: low, max: high, step, id: `z${index}-range`});
    const band = element('div', {class: 'band', hidden: ''});
    const readout = element('output', {for: `z${index}-range`});
    range.addEventListener('input', () => {
      readout.value = range.valueAsNumber.toFixed(decimals);
      moved();
    });
    const row = element('div', {id: `z${index}`, class: 'latent'}, [
      element('label', {for: `z${index}-range`, text: `z${index}`}),
      element('div', {class: 'track'}, [element('div', {class: 'rail'}, [band]), range]),
      readout,
    ]);
    return {range, band, readout, row, low, high};
  });
  return {
    element: element('section', {class: 'panel slider-panel'}, [element('h3', {text: 'Latent sliders'}), ...rows.map((row) => row.row)]),

    /** The values as the sliders show them (the browser engine runs them in float32, the server in float64). */
    values() {
      return rows.map(({range}) => range.valueAsNumber);
    },

    /** Values onto the range inputs, which round them to the step and clip them to the range. */
    set(values) {
      rows.forEach(({range, readout}, index) => {
        range.value = String(values[index]);
        readout.value = range.valueAsNumber.toFixed(decimals);
      });
    },

    /** The posterior mu +- sigma on each slider, or no band at all (``mu`` null). */
    showPosterior(mu, logvar) {
      rows.forEach(({band, low, high}, index) => {
        band.hidden = !mu;
        if (!mu) return;
        const sigma = Math.exp(0.5 * logvar[index]);
        const left = Math.max(0, (mu[index] - sigma - low) / (high - low));
        const right = Math.min(1, (mu[index] + sigma - low) / (high - low));
        band.style.left = `${100 * left}%`;
        band.style.width = `${100 * Math.max(0, right - left)}%`;
      });
    },
  };
}
