"""Everything the demo takes from Gradio beyond its public API, in one place, each with why it is needed.

Checked against Gradio 6.31; ``pyproject.toml`` keeps gradio below 7. Each piece has a test that
fails when Gradio changes under it (``tests/test_ui_api.py``, ``tests/test_browser_demo.py``).
"""

import inspect
from pathlib import Path

import gradio as gr
from gradio.processing_utils import save_img_array_to_cache
from gradio.utils import get_upload_folder

# The URL, relative to the page, at which Gradio serves a file under ``gr.set_static_paths``: the
# page's JavaScript, the model and onnxruntime-web are fetched from there. Gradio has no call that
# returns it.
FILE_ROUTE = "gradio_api/file="

# Where the page calls the server functions of a ``gr.HTML`` component (``server.<name>(...)`` in
# its JavaScript). Gradio names no constant for it; the tests and benchmarks count the page's calls
# to the server engine by it, and the API tests call the functions as a page would.
SERVER_FUNCTION_ROUTE = "gradio_api/component_server"


def upload_folder() -> Path:
    """Gradio's folder for uploaded and cached files (``GRADIO_TEMP_DIR``, else ``<tmp>/gradio``).

    An API client's file reference is only a path: the demo reads it only when it lies in this
    folder, where Gradio put what that client uploaded.
    """
    return Path(get_upload_folder())


def save_png_in_cache(pixels) -> str:
    """Write ``pixels`` (uint8 ``[height, width]``) as a PNG into Gradio's cache folder; its path.

    ``gr.api`` endpoints skip the components' postprocessing, so an image they return must already
    be a file that Gradio may serve. This is the function Gradio's own image component puts one
    there with: named by its content (the same digit is one file) and removed with Gradio's cache.
    """
    return save_img_array_to_cache(pixels, str(upload_folder()), format="png")


class StrictBlocks(gr.Blocks):
    """Blocks whose API endpoints refuse more values than they declare.

    Gradio drops the values beyond an endpoint's inputs unseen, so ``/decode`` with 11 latent values
    would decode the first 10. ``Blocks.validate_inputs`` is the one hook that sees every call's
    values before Gradio drops them; it is not public, and it gets Gradio's own ``BlockFunction``,
    whose ``fn`` and ``api_name`` say which endpoint is called and what it takes.
    """

    def validate_inputs(self, block_fn, inputs):
        declared = list(inspect.signature(block_fn.fn).parameters)
        if block_fn.api_name and len(inputs) > len(declared):
            values = "value" if len(declared) == 1 else "values"
            raise gr.Error(
                f"/{block_fn.api_name} takes {len(declared)} {values} ({', '.join(declared)}); got {len(inputs)}",
                print_exception=False,
            )
        super().validate_inputs(block_fn, inputs)
