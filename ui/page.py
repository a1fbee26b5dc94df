"""The page's own HTML, JavaScript and CSS: the drawing pad, the decoded digit, the example
tiles and the styles.

Gradio's ``Sketchpad`` reports a drawing only at pointer-up, so the pad is a plain canvas.
While a stroke goes on it sends a greyscale downsample of itself, at most every
``PAD_INTERVAL_MS`` and once more when the pen lifts, by writing it into a hidden textbox
(never set from the server) whose change event carries it to the encoder. That event runs
with ``trigger_mode="always_last"`` and reads the textbox when it runs, so a slow server
skips stale frames but always ends on the latest one.

The decoded digit is painted on a canvas from its grey bytes by the same task that receives
them: an ``<img>`` would load its picture in a later task and show it a frame (16.7 ms) later.
The tiles are buttons whose click sends their digit as the event's data.
"""


from vaeport.contract import IMAGE_SHAPE

PAD_PIXELS_ID = "pad-pixels"  # elem_id of the hidden textbox the pad writes into
PAD_CANVAS_SIDE = 280  # drawing canvas, in CSS pixels and in canvas pixels
PAD_SEND_SIDE = 112  # side of the downsample sent to the server
PAD_INTERVAL_MS = 100  # at most ten frames a second during a stroke
PAD_BRUSH = 22  # brush width on the canvas: about MNIST's stroke width once scaled down
DIGIT_SIDE = 280  # CSS pixels of the decoded digit: each of its 28x28 pixels a 10x10 square
VIEW_SIDE = 168  # CSS pixels of the image the encoder sees
THUMB_SIDE = 84  # CSS pixels of a tile or an interpolation frame
_HEIGHT, _WIDTH = IMAGE_SHAPE[1:]

PAD_HTML = f"""
<div class="pad">
  <canvas class="pad-canvas" width="{PAD_CANVAS_SIDE}" height="{PAD_CANVAS_SIDE}"
          aria-label="drawing pad: draw a digit"></canvas>
  <button type="button" class="pad-clear">Clear</button>
</div>
"""

PAD_JS = f"""
const canvas = element.querySelector('.pad-canvas');
const ink = canvas.getContext('2d');
const small = document.createElement('canvas');
small.width = small.height = {PAD_SEND_SIDE};
const smallInk = small.getContext('2d', {{willReadFrequently: true}});
smallInk.imageSmoothingQuality = 'high';
let last = null;
let lastSent = -Infinity;
let timer = null;

function blank() {{
  ink.fillStyle = '#000';
  ink.fillRect(0, 0, canvas.width, canvas.height);
}}

function pixelsBox() {{
  return document.querySelector('#{PAD_PIXELS_ID} textarea, #{PAD_PIXELS_ID} input');
}}

function post(text) {{
  const box = pixelsBox();
  box.value = text;
  box.dispatchEvent(new Event('input', {{bubbles: true}}));
}}

function send() {{
  timer = null;
  lastSent = performance.now();
  smallInk.drawImage(canvas, 0, 0, {PAD_SEND_SIDE}, {PAD_SEND_SIDE});
  const rgba = smallInk.getImageData(0, 0, {PAD_SEND_SIDE}, {PAD_SEND_SIDE}).data;
  let bytes = '';
  for (let i = 0; i < rgba.length; i += 4) bytes += String.fromCharCode(rgba[i]);
  post('{PAD_SEND_SIDE}:' + btoa(bytes));
}}

function schedule() {{
  if (timer === null) {{
    timer = setTimeout(send, Math.max(0, lastSent + {PAD_INTERVAL_MS} - performance.now()));
  }}
}}

function at(event) {{
  const box = canvas.getBoundingClientRect();
  return [(event.clientX - box.left) * canvas.width / box.width,
          (event.clientY - box.top) * canvas.height / box.height];
}}

function strokeTo(point) {{
  ink.beginPath();
  ink.moveTo(last[0], last[1]);
  ink.lineTo(point[0], point[1]);
  ink.stroke();
  last = point;
  schedule();
}}

canvas.addEventListener('pointerdown', (event) => {{
  canvas.setPointerCapture(event.pointerId);
  ink.strokeStyle = '#fff';
  ink.lineWidth = {PAD_BRUSH};
  ink.lineCap = ink.lineJoin = 'round';
  last = at(event);
  strokeTo(last);
}});
canvas.addEventListener('pointermove', (event) => {{ if (last) strokeTo(at(event)); }});
canvas.addEventListener('pointerup', () => {{ last = null; schedule(); }});
canvas.addEventListener('pointercancel', () => {{ last = null; schedule(); }});
element.querySelector('.pad-clear').addEventListener('click', () => {{
  clearTimeout(timer);
  timer = null;
  blank();
  post('');
}});
blank();
"""

TILES_JS = """
element.addEventListener('click', (event) => {
  const tile = event.target.closest('[data-digit]');
  if (tile) trigger('click', {digit: Number(tile.dataset.digit)});
});
"""

# The component's value is {"pixels": base64 of the 28x28 grey bytes, "status": the status line}.
DIGIT_TEMPLATE = f"""
<figure class="digit">
  <canvas width="{_WIDTH}" height="{_HEIGHT}" data-pixels="${{value.pixels}}" role="img" aria-label="decoded digit"></canvas>
  <figcaption class="status">${{value.status}}</figcaption>
</figure>
"""

DIGIT_JS = """
const paint = () => {
  const canvas = element.querySelector('canvas');
  const grey = atob(canvas.dataset.pixels);
  const context = canvas.getContext('2d');
  const image = context.createImageData(canvas.width, canvas.height);
  for (let i = 0; i < grey.length; i++) {
    const level = grey.charCodeAt(i);
    image.data.set([level, level, level, 255], 4 * i);
  }
  context.putImageData(image, 0, 0);
};
paint();
watch('value', paint);
"""

PAGE_CSS = f"""
.digit canvas {{ width: {DIGIT_SIDE}px; height: {DIGIT_SIDE}px; }}
.digit, .encoder-view {{ display: flex; flex-direction: column; align-items: center; gap: 6px; margin: 0; }}
.digit canvas, .encoder-view img, .thumbs img {{ image-rendering: pixelated; background: #000; border-radius: 6px; }}
.encoder-view img {{ width: {VIEW_SIDE}px; height: {VIEW_SIDE}px; }}
.encoder-view .empty {{ width: {VIEW_SIDE}px; height: {VIEW_SIDE}px; display: flex; align-items: center; justify-content: center;
                       text-align: center; border: 1px dashed var(--border-color-primary); border-radius: 6px; }}
.digit figcaption, .encoder-view figcaption {{ font-size: var(--text-sm); color: var(--body-text-color-subdued); }}
.pad {{ display: flex; flex-direction: column; align-items: center; gap: 8px; }}
.pad-canvas {{ width: {PAD_CANVAS_SIDE}px; height: {PAD_CANVAS_SIDE}px; touch-action: none; cursor: crosshair;
               border-radius: 8px; border: 1px solid var(--border-color-primary); }}
.pad-clear {{ padding: 4px 16px; border-radius: 6px; border: 1px solid var(--border-color-primary);
              background: var(--button-secondary-background-fill); color: var(--body-text-color); cursor: pointer; }}
.thumbs {{ display: flex; flex-wrap: wrap; gap: 8px; justify-content: center; }}
.thumbs img {{ display: block; width: {THUMB_SIDE}px; height: {THUMB_SIDE}px; }}
.thumbs .tile {{ margin: 0; padding: 0; border: 2px solid transparent; border-radius: 8px; background: none;
                cursor: pointer; line-height: 0; }}
.thumbs .tile:hover, .thumbs .tile:focus-visible {{ border-color: var(--color-accent); }}
"""


def encoder_view_html(image_uri: str | None) -> str:
    """The 28x28 image the encoder sees, or a hint while the pad is empty."""
    picture = (
        f'<img src="{image_uri}" alt="what the encoder sees">'
        if image_uri
        else '<div class="empty">draw a digit on the pad</div>'
    )
    return f'<figure class="encoder-view">{picture}<figcaption>what the encoder sees (28x28)</figcaption></figure>'


def strip_html(image_uris: list[str]) -> str:
    """Frames side by side: the interpolation strip."""
    frames = "".join(f'<img src="{uri}" alt="frame {index}">' for index, uri in enumerate(image_uris))
    return f'<div class="thumbs">{frames}</div>'


def tiles_html(image_uris: list[str]) -> str:
    """Buttons showing the example reconstructions, one per digit, each carrying its digit."""
    buttons = "".join(
        f'<button type="button" class="tile" data-digit="{digit}" title="sample a {digit}">'
        f'<img src="{uri}" alt="example {digit}"></button>'
        for digit, uri in enumerate(image_uris)
    )
    return f'<div class="thumbs">{buttons}</div>'
