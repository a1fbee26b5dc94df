"""The demo page, its named API endpoints (/decode, /encode, /sample) and the server that runs it."""

import contextlib
import socket

import gradio as gr

from vaeport.ui.errors import DemoServerError
from vaeport.ui.handlers import STEP, DemoHandlers
from vaeport.ui.page import (
    DIGIT_JS,
    DIGIT_TEMPLATE,
    PAD_HTML,
    PAD_JS,
    PAD_PIXELS_ID,
    PAGE_CSS,
    TILES_JS,
    encoder_view_html,
)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
# API calls that may run at once, across all clients. Gradio's default of 1 would make every
# client wait for every other; the handlers are short and the runtime is thread-safe.
CONCURRENCY_LIMIT = 32
MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # images sent to /encode
MORPH_ENDS = (3, 8)  # the interpolation strip a fresh page shows

# Page events skip the queue: one HTTP round trip instead of a queue join plus an event stream,
# which nearly halves the time from a slider move to the new digit. They run at once for every
# visitor (up to Gradio's thread limit), show no spinner, and are not offered to API clients,
# which have the named endpoints.
_PAGE_EVENT = {"queue": False, "show_progress": "hidden", "api_visibility": "private"}
# Slider and pad events: the page sends one request at a time and, when it comes back, one more
# with the values of that moment, so a slow server skips stale positions but always ends on the
# last one.
_LIVE_EVENT = {**_PAGE_EVENT, "trigger_mode": "always_last"}


def build_demo(runtime) -> gr.Blocks:
    """The Blocks app on ``runtime`` (a ``vaeport.runtime.VAERuntime``), with its queue set up."""
    handlers = DemoHandlers(runtime)
    *values, digit_start = handlers.initial()
    digits = sorted(handlers.examples)
    with gr.Blocks(title="vaeport: a VAE for handwritten digits", analytics_enabled=False) as demo:
        gr.Markdown(
            "# vaeport\nA variational autoencoder for handwritten digits, running on ONNX. "
            f"Drag the {handlers.latent_dim} latent sliders to morph the digit, draw one on the pad to see where "
            "it lands in latent space, or click an example to sample from its posterior."
        )
        with gr.Row(equal_height=False):
            with gr.Column(min_width=300):
                gr.Markdown("### Draw a digit")
                gr.HTML(PAD_HTML, js_on_load=PAD_JS, elem_id="pad")
                pad_pixels = gr.Textbox(visible="hidden", elem_id=PAD_PIXELS_ID)
                view = gr.HTML(encoder_view_html(None), js_on_load=None, elem_id="encoder-view")
            with gr.Column(min_width=300):
                gr.Markdown("### Decoded digit")
                digit = gr.HTML(digit_start, html_template=DIGIT_TEMPLATE, js_on_load=DIGIT_JS, elem_id="digit")
                with gr.Row():
                    prior = gr.Button("Sample from the prior", elem_id="prior")
                    reset = gr.Button("Reset to zero", elem_id="reset")
            with gr.Column(min_width=300):
                gr.Markdown("### Latent sliders")
                sliders = [
                    gr.Slider(
                        low, high, value=value, step=STEP, label=f"z{index}", elem_id=f"z{index}", elem_classes="latent"
                    )
                    for index, (low, high, value) in enumerate(zip(handlers.minimum, handlers.maximum, values))
                ]
        gr.Markdown("### Examples: click one to sample from its posterior, a new sample every click")
        tiles = gr.HTML(handlers.tiles(), js_on_load=TILES_JS, elem_id="tiles")
        gr.Markdown("### Morph from one example to another")
        with gr.Row(equal_height=True):
            first = gr.Dropdown(digits, value=MORPH_ENDS[0], label="from", elem_id="morph-from", scale=0, min_width=100)
            morph = gr.HTML(handlers.on_morph(*MORPH_ENDS), js_on_load=None, elem_id="morph")
            second = gr.Dropdown(digits, value=MORPH_ENDS[1], label="to", elem_id="morph-to", scale=0, min_width=100)
        with gr.Column(visible=False):  # the API endpoints' own inputs and output, checked by the handlers
            api_latent = [gr.Number(label=f"z{index}") for index in range(handlers.latent_dim)]
            api_image = gr.File(label="image", type="filepath")
            api_digit = gr.Number(label="digit")
            api_seed = gr.Number(label="seed", precision=0)
            api_result = gr.Image(label="digit image", format="png")

        board = [*sliders, digit]
        gr.on(
            [slider.input for slider in sliders] + [slider.release for slider in sliders],
            handlers.on_slide,
            sliders,
            digit,
            **_LIVE_EVENT,
        )
        pad_pixels.change(handlers.on_draw, pad_pixels, [*board, view], **_LIVE_EVENT)
        tiles.click(handlers.on_tile, None, board, trigger_mode="multiple", **_PAGE_EVENT)
        prior.click(handlers.on_prior, None, board, **_PAGE_EVENT)
        reset.click(handlers.on_reset, None, board, **_PAGE_EVENT)
        gr.on([first.input, second.input], handlers.on_morph, [first, second], morph, **_PAGE_EVENT)

        gr.on([], handlers.api_decode, api_latent, api_result, api_name="decode")
        gr.on([], handlers.api_encode, api_image, [*sliders, api_result], api_name="encode")
        gr.on([], handlers.api_sample, [api_digit, api_seed], [*sliders, api_result], api_name="sample")
    demo.queue(default_concurrency_limit=CONCURRENCY_LIMIT)
    return demo


def serve(
    runtime, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, share: bool = False, block: bool = True
) -> gr.Blocks:
    """Build the demo on ``runtime`` and serve it until Ctrl+C; with ``block=False``, return while
    it runs in background threads (tests, benchmarks), to be stopped with ``close()``."""
    demo = build_demo(runtime)
    try:
        demo.launch(
            server_name=host,
            server_port=port,
            share=share,
            css=PAGE_CSS,
            max_file_size=MAX_UPLOAD_BYTES,
            prevent_thread_lock=True,
            quiet=True,
            ssr_mode=False,
        )
    except OSError as error:  # Gradio's message names its own parameters, not ours
        raise DemoServerError(
            f"cannot serve the demo on {host}:{port} ({error.strerror or 'port in use'}); "
            "choose another port with --port, or another address with --host"
        ) from None
    if block:
        print(f"vaeport demo: {demo.local_url}" + (f" and {demo.share_url}" if demo.share_url else ""))
        print("API: /decode, /encode and /sample, documented under 'Use via API' at the foot of the page.")
        print("Ctrl+C stops the server.")
        demo.block_thread()
    return demo


def free_port(host: str = DEFAULT_HOST) -> int:
    """A TCP port that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running_demo(runtime, host: str = DEFAULT_HOST, port: int | None = None):
    """Serve the demo in the background for the length of a ``with`` block; yields its URL.

    Without ``port``, on a port that is free when the block starts."""
    demo = serve(runtime, host, port or free_port(host), block=False)
    try:
        yield demo.local_url
    finally:
        demo.close()
