// The latent map (``#map``): a plane of latent space (runtime.mjs's LatentMap, from the manifest) with
// the 10,000 MNIST test digits' mu as dots coloured by digit, the prior's components as ellipses (their
// projected mean and covariance, one sigma, their weight as opacity), the posterior of the drawing or
// tile as a shaded ellipse, the morph strip's path as a line, and z as a dot. The plane is the
// manifest's (Fisher's discriminant plane) or any two latent dimensions, chosen under the map.
//
// The dots and the prior are drawn once per plane, onto an offscreen canvas; a frame, drawn on the
// animation frame after anything changed, copies that canvas and draws the posterior, the path and
// the marker. A press or drag on the map moves z so that its projection lands under the pointer, the
// part of z off the plane unchanged from where the press began (``moved(z)``). For tests and the
// benchmark, ``#map`` counts its frames (``data-frames``), says where it drew the marker (``data-marker``:
// [x, y] in CSS pixels from the canvas's top left corner), and each frame dispatches a
// ``vaeport:map-drawn`` event (detail: the frame's drawing time in ms).

import {element} from './dom.mjs';

export const DIGIT_COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#8f8f8f', '#bcbd22', '#17becf'];
const SIDE = 300; // CSS pixels
const MARGIN = 0.04; // of the view, around the dots
const OUTLYING = 0.002; // the share of dots at each end of each axis that the view leaves out
const ACCENT = '#f97316';

/**
 * The one-sigma ellipse of N(mean, diag(exp(logvar))) projected onto ``axes`` of ``latentMap``:
 * its centre [x, y], its radii along its own axes, and the angle of the first radius from the map's x axis.
 */
export function projectedEllipse(latentMap, axes, mean, logvar) {
  const [x, y] = latentMap.project(mean, axes);
  let [a, b, c] = [0, 0, 0]; // the covariance P diag(exp(logvar)) P^T, [[a, b], [b, c]]
  logvar.forEach((value, j) => {
    const variance = Math.exp(value);
    a += axes[0][j] * axes[0][j] * variance;
    b += axes[0][j] * axes[1][j] * variance;
    c += axes[1][j] * axes[1][j] * variance;
  });
  const middle = (a + c) / 2;
  const spread = Math.hypot((a - c) / 2, b);
  return {centre: [x, y], radii: [Math.sqrt(middle + spread), Math.sqrt(Math.max(middle - spread, 0))], angle: 0.5 * Math.atan2(2 * b, a - c)};
}

/** The map widget; ``moved(z)`` when the visitor presses or drags on it. */
export function createMap(moved) {
  const dpr = globalThis.devicePixelRatio || 1;
  const canvas = element('canvas', {class: 'map-canvas', width: Math.round(SIDE * dpr), height: Math.round(SIDE * dpr), role: 'img', 'aria-label': 'latent map: press or drag to move z'});
  canvas.style.width = canvas.style.height = `${SIDE}px`;
  const holder = element('div', {id: 'map', class: 'map-holder'}, [canvas]);
  const caption = element('p', {class: 'map-caption', text: 'loading the map…'});
  const plane = element('select', {'aria-label': 'map plane'}, [
    element('option', {value: 'fisher', text: "Fisher's discriminant plane"}),
    element('option', {value: 'dimensions', text: 'two latent dimensions'}),
  ]);
  const xDim = element('select', {'aria-label': 'map x dimension', hidden: ''});
  const yDim = element('select', {'aria-label': 'map y dimension', hidden: ''});
  const legend = element('div', {class: 'map-legend'}, DIGIT_COLOURS.map((colour, digit) => element('span', {style: `color: ${colour}`, text: `● ${digit}`})));
  const panel = element('section', {class: 'panel map-panel'}, [
    element('h3', {text: 'Latent map'}),
    holder,
    element('div', {class: 'map-controls'}, [plane, xDim, yDim]),
    legend,
    caption,
  ]);

  const state = {data: null, axes: null, view: null, layer: null, z: null, posterior: null, path: null, origin: null, pointer: null, pending: false};
  const context = canvas.getContext('2d');

  const toCanvas = ([x, y]) => [canvas.width / 2 + (x - state.view.x) * state.view.scale, canvas.height / 2 - (y - state.view.y) * state.view.scale];
  const fromCanvas = ([u, v]) => [state.view.x + (u - canvas.width / 2) / state.view.scale, state.view.y - (v - canvas.height / 2) / state.view.scale];

  function ellipse(target, {centre, radii, angle}) {
    const [u, v] = toCanvas(centre);
    target.beginPath();
    target.ellipse(u, v, Math.max(radii[0] * state.view.scale, 0.5), Math.max(radii[1] * state.view.scale, 0.5), -angle, 0, 2 * Math.PI);
  }

  /** The view and the offscreen layer (dots, then the prior's ellipses) of the plane now chosen. */
  function choosePlane() {
    const {latentMap, prior, ranges} = state.data;
    const dimensions = plane.value === 'dimensions';
    xDim.hidden = yDim.hidden = !dimensions;
    const [i, j] = [Number(xDim.value), Number(yDim.value)];
    state.axes = dimensions ? latentMap.dimensionAxes(i, j) : latentMap.axes;
    const d = latentMap.latentDim;
    const count = latentMap.digits.length;
    const projected = new Float64Array(2 * count);
    for (let n = 0; n < count; n++) projected.set(latentMap.project(latentMap.points.subarray(n * d, (n + 1) * d), state.axes), 2 * n);
    let low;
    let high;
    if (dimensions) {
      [low, high] = [0, 1].map((end) => [ranges[i][end] - latentMap.centre[i], ranges[j][end] - latentMap.centre[j]]);
    } else {
      const sorted = [0, 1].map((k) => projected.filter((_, n) => n % 2 === k).sort());
      const at = (fraction) => sorted.map((values) => values[Math.round(fraction * (values.length - 1))]);
      [low, high] = [at(OUTLYING), at(1 - OUTLYING)];
    }
    const span = Math.max(high[0] - low[0], high[1] - low[1]) * (1 + 2 * MARGIN);
    state.view = {x: (low[0] + high[0]) / 2, y: (low[1] + high[1]) / 2, scale: canvas.width / span};

    const layer = element('canvas', {width: canvas.width, height: canvas.height}).getContext('2d');
    layer.fillStyle = '#000';
    layer.fillRect(0, 0, canvas.width, canvas.height);
    const dot = 2 * dpr;
    layer.globalAlpha = 0.7;
    for (let n = 0; n < count; n++) {
      const [u, v] = toCanvas([projected[2 * n], projected[2 * n + 1]]);
      layer.fillStyle = DIGIT_COLOURS[latentMap.digits[n]];
      layer.fillRect(u - dot / 2, v - dot / 2, dot, dot);
    }
    const heaviest = Math.max(...prior.weights);
    layer.strokeStyle = '#fff';
    layer.lineWidth = dpr;
    prior.means.forEach((mean, k) => {
      layer.globalAlpha = 0.1 + 0.6 * (prior.weights[k] / heaviest);
      ellipse(layer, projectedEllipse(latentMap, state.axes, mean, prior.logvars[k]));
      layer.stroke();
    });
    state.layer = layer.canvas;
    caption.textContent = dimensions
      ? `The plane of latent dimensions z${i} (across) and z${j} (up), through the test digits' mean. ` + HOW
      : `${latentMap.description}. ` + HOW;
    invalidate();
  }

  function draw() {
    state.pending = false;
    const started = performance.now();
    context.globalAlpha = 1;
    context.drawImage(state.layer, 0, 0);
    const {latentMap} = state.data;
    if (state.posterior) {
      ellipse(context, projectedEllipse(latentMap, state.axes, ...state.posterior));
      context.fillStyle = '#fff';
      context.globalAlpha = 0.3;
      context.fill();
      context.globalAlpha = 1;
      context.strokeStyle = '#fff';
      context.lineWidth = 2 * dpr;
      context.stroke();
    }
    if (state.path) {
      const [start, end] = state.path.ends.map((mu) => toCanvas(latentMap.project(mu, state.axes)));
      context.strokeStyle = '#fff';
      context.lineWidth = dpr;
      context.setLineDash([4 * dpr, 3 * dpr]);
      context.beginPath();
      context.moveTo(...start);
      context.lineTo(...end);
      context.stroke();
      context.setLineDash([]);
      context.fillStyle = '#fff';
      for (let s = 0; s < state.path.steps; s++) {
        const t = s / (state.path.steps - 1);
        context.beginPath();
        context.arc(start[0] + t * (end[0] - start[0]), start[1] + t * (end[1] - start[1]), 2 * dpr, 0, 2 * Math.PI);
        context.fill();
      }
    }
    if (state.z) {
      const [u, v] = toCanvas(latentMap.project(state.z, state.axes)).map((value) => Math.min(Math.max(value, 0), canvas.width));
      holder.dataset.marker = JSON.stringify([u / dpr, v / dpr]);
      context.beginPath();
      context.arc(u, v, 5 * dpr, 0, 2 * Math.PI);
      context.fillStyle = ACCENT;
      context.fill();
      context.lineWidth = 2 * dpr;
      context.strokeStyle = '#fff';
      context.stroke();
    }
    const ms = performance.now() - started;
    holder.dataset.frames = String(Number(holder.dataset.frames ?? 0) + 1);
    holder.dispatchEvent(new CustomEvent('vaeport:map-drawn', {bubbles: true, detail: {ms}}));
  }

  function invalidate() {
    if (state.pending || !state.layer) return;
    state.pending = true;
    requestAnimationFrame(draw);
  }

  const pointerAt = (event) => {
    // Within the canvas's content box, in canvas pixels.
    const box = canvas.getBoundingClientRect();
    const [x, y] = [event.clientX - box.left - canvas.clientLeft, event.clientY - box.top - canvas.clientTop];
    return fromCanvas([(x * canvas.width) / canvas.clientWidth, (y * canvas.height) / canvas.clientHeight]);
  };
  const place = (event) => moved(state.data.latentMap.place(state.origin, pointerAt(event), state.axes));
  // One drag at a time, by the pointer that began it with its primary button; it ends when that
  // pointer lifts or the canvas loses it.
  const end = (event) => {
    if (event.pointerId === state.pointer) state.origin = state.pointer = null;
  };
  canvas.addEventListener('pointerdown', (event) => {
    if (event.button !== 0 || state.pointer != null || !state.layer || !state.z) return;
    state.pointer = event.pointerId;
    canvas.setPointerCapture(event.pointerId);
    state.origin = state.z;
    place(event);
  });
  canvas.addEventListener('pointermove', (event) => {
    if (event.pointerId !== state.pointer) return;
    if (!(event.buttons & 1)) return end(event); // its release was lost (a blur, a context menu)
    place(event);
  });
  for (const name of ['pointerup', 'pointercancel', 'lostpointercapture']) canvas.addEventListener(name, end);
  for (const select of [plane, xDim, yDim]) {
    select.addEventListener('change', () => {
      if (!state.data) return; // no map (yet): nothing to draw in another plane
      if (select !== plane && xDim.value === yDim.value) (select === xDim ? yDim : xDim).value = select.dataset.previous;
      xDim.dataset.previous = xDim.value;
      yDim.dataset.previous = yDim.value;
      choosePlane();
    });
  }

  return {
    element: panel,

    /** Draw the map of ``latentMap`` (null: the manifest has none) with ``prior``'s components, the
     * dimensions' view set by the sliders' ``ranges``. */
    load(latentMap, prior, ranges) {
      if (!latentMap) {
        caption.textContent = "This model's manifest has no map.";
        return;
      }
      state.data = {latentMap, prior, ranges};
      const options = () => ranges.map((_, k) => element('option', {value: k, text: `z${k}`}));
      xDim.replaceChildren(...options());
      yDim.replaceChildren(...options());
      xDim.value = xDim.dataset.previous = '0';
      yDim.value = yDim.dataset.previous = '1';
      choosePlane();
    },

    /** Say why the map is missing. */
    fail(reason) {
      caption.textContent = `The map could not load: ${reason}`;
    },

    /** The current z, the marker. */
    showZ(z) {
      state.z = Array.from(z);
      invalidate();
    },

    /** The posterior N(mu, exp(logvar)) of the drawing or tile, or none (``mu`` null). */
    showPosterior(mu, logvar) {
      state.posterior = mu ? [mu, logvar] : null;
      invalidate();
    },

    /** The morph strip's path: ``steps`` points from ``start`` to ``end``. */
    showPath(start, end, steps) {
      state.path = {ends: [start, end], steps};
      invalidate();
    },
  };
}

const HOW =
  "Dots: the 10,000 MNIST test digits' mu, by digit. White ellipses: the prior's components (one sigma, brighter is " +
  'heavier); shaded: the posterior of the drawing or tile; dotted: the morph; the orange dot: z. Press or drag to move z in this ' +
  'plane; the rest of z stays.';
