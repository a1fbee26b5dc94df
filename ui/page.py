"""The demo page's configuration: everything ``static/demo.mjs`` needs to build and run the page.

The page itself is JavaScript and CSS in ``static/`` (``demo.mjs`` and the modules beside it,
``demo.css``, and ``boot.js``, which starts it in the Gradio page); what it shows first (the
sliders' ranges, the first digit, the tiles, the morph strip) is computed here, once per server,
so a new page shows it before any engine has started.
"""

from vaeport.ui.assets import STATIC

TITLE = "vaeport: a VAE for handwritten digits"
PAD_CANVAS_SIDE = 280  # drawing canvas, in CSS pixels and in canvas pixels
PAD_SEND_SIDE = 112  # side of the downsample the encoder's preprocessing gets
PAD_BRUSH = 22  # brush width on the canvas: about MNIST's stroke width once scaled down


def intro(latent_dim: int) -> str:
    """The sentence under the page's title."""
    return (
        f"A variational autoencoder for handwritten digits, running on ONNX. Drag the {latent_dim} latent sliders to "
        "morph the digit, draw one on the pad to see where it lands in latent space, or click an example to sample "
        "from its posterior."
    )


# Runs in the Gradio page when the demo's HTML component mounts (``js_on_load``); see the file.
BOOT_JS = STATIC.joinpath("boot.js").read_text(encoding="utf-8")


def page_config(handlers, located: dict, assets: str, server: bool) -> dict:
    """The configuration of a demo page on ``handlers`` (a ``DemoHandlers``).

    ``located``: where ``write_assets`` put the page and the model, relative to ``assets``, the
    URL of that folder (relative to the page). ``server``: whether a server engine answers.
    """
    return {
        **handlers.page_state(),
        "image": handlers.runtime.manifest["image_shape"][1:],
        "pad": {"side": PAD_CANVAS_SIDE, "send": PAD_SEND_SIDE, "brush": PAD_BRUSH},
        "assets": assets,
        **located,
        "server": {"provider": handlers.provider} if server else None,
    }
