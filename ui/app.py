"""The Gradio demo: its page, its server functions, its named API endpoints and the server that runs it."""

import inspect
import shutil
import tempfile
from pathlib import Path

import gradio as gr

from vaeport.ui.assets import write_assets
from vaeport.ui.errors import DemoServerError
from vaeport.ui.gradio_internals import FILE_ROUTE, StrictBlocks
from vaeport.ui.handlers import DemoHandlers
from vaeport.ui.page import BOOT_JS, TITLE, intro, page_config

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
# API calls that may run at once, across all clients. Gradio's default of 1 would make every
# client wait for every other; the handlers are short and the runtime is thread-safe.
CONCURRENCY_LIMIT = 32
MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # images sent to /encode
PAGE_FUNCTIONS = ("decode", "draw", "sample", "prior", "morph")


def _named(name: str, method, parameters: dict | None = None, returns=None):
    """``method`` as a plain function called ``name``, with the typed signature ``parameters -> returns``
    when given (Gradio derives an API endpoint's inputs and outputs from the signature)."""

    def call(*args):
        return method(*args)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = method.__doc__
    if parameters is not None:
        kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
        call.__signature__ = inspect.Signature(
            [inspect.Parameter(key, kind, annotation=hint) for key, hint in parameters.items()],
            return_annotation=returns,
        )
        call.__annotations__ = {**parameters, "return": returns}
    return call


def build_demo(handlers: DemoHandlers, config: dict) -> gr.Blocks:
    """The Blocks app of the page ``config`` (see ``page_config``) on ``handlers``, with its queue set up."""
    latent = {f"z{index}": float for index in range(handlers.latent_dim)}
    values_and_png = tuple[(*[float] * handlers.latent_dim, gr.FileData)]
    with StrictBlocks(title=TITLE, analytics_enabled=False) as demo:
        gr.Markdown(f"# vaeport\n{intro(handlers.latent_dim)}")
        gr.HTML(
            config,
            html_template='<div class="vaeport-mount"></div>',
            js_on_load=BOOT_JS,
            server_functions=[_named(name, getattr(handlers, f"page_{name}")) for name in PAGE_FUNCTIONS],
            elem_id="vaeport-demo",
        )
        gr.api(_named("decode", handlers.api_decode, latent, gr.FileData), api_name="decode")
        gr.api(_named("encode", handlers.api_encode, {"image": gr.FileData}, values_and_png), api_name="encode")
        gr.api(
            _named("sample", handlers.api_sample, {"digit": int, "seed": int | None}, values_and_png), api_name="sample"
        )
    demo.queue(default_concurrency_limit=CONCURRENCY_LIMIT)
    return demo


class DemoServer:
    """A running demo: the Gradio app and the folder of page files beside it. ``close()`` stops both."""

    def __init__(self, demo: gr.Blocks, assets: Path):
        self.demo = demo
        self.assets = assets
        self.url = demo.local_url

    def close(self) -> None:
        self.demo.close()
        shutil.rmtree(self.assets, ignore_errors=True)

    def __enter__(self) -> "DemoServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def serve(
    runtime,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    share: bool = False,
    browser: bool = True,
    ort_dist: Path | None = None,
    block: bool = True,
    browser_precision: str | None = None,
) -> DemoServer:
    """Serve the demo on ``runtime`` until Ctrl+C; with ``block=False``, return while it runs in
    background threads, to be stopped with ``close()``.

    ``browser``: let the page run the model in the visitor's browser (the server stays the
    fallback), on the graphs of ``browser_precision`` (None: the runtime's). ``ort_dist``: a checked local copy of onnxruntime-web's dist/ folder to serve,
    instead of the public CDN.
    """
    handlers = DemoHandlers(runtime)
    assets = Path(tempfile.mkdtemp(prefix="vaeport-page-"))
    try:
        located = write_assets(assets, runtime, browser, ort_dist, browser_precision)
    except OSError as error:
        shutil.rmtree(assets, ignore_errors=True)
        raise DemoServerError(f"cannot write the page's files to {assets}: {error.strerror or error}") from None
    try:
        gr.set_static_paths([assets])
        demo = build_demo(handlers, page_config(handlers, located, f"{FILE_ROUTE}{assets.as_posix()}/", server=True))
        demo.launch(
            server_name=host,
            server_port=port,
            share=share,
            max_file_size=MAX_UPLOAD_BYTES,
            prevent_thread_lock=True,
            quiet=True,
            ssr_mode=False,
        )
    except OSError as error:  # Gradio's message names its own parameters, not ours
        shutil.rmtree(assets, ignore_errors=True)
        raise DemoServerError(
            f"cannot serve the demo on {host}:{port} ({error.strerror or 'port in use'}); "
            "choose another port with --port, or another address with --host"
        ) from None
    except BaseException:
        shutil.rmtree(assets, ignore_errors=True)
        raise
    server = DemoServer(demo, assets)
    if block:
        print(f"vaeport demo: {demo.local_url}" + (f" and {demo.share_url}" if demo.share_url else ""))
        print("API: /decode, /encode and /sample, documented under 'Use via API' at the foot of the page.")
        print("Ctrl+C stops the server.")
        try:
            demo.block_thread()
        finally:
            server.close()
    return server
