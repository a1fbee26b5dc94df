"""What is measured: the model folder, the parts, their inputs and what one image costs in FLOPs."""

import math
from pathlib import Path

import numpy as np

from vaeport.contract import IMAGE_SHAPE
from vaeport.runtime.model_files import ModelFiles, read_model

PARTS = ("encoder", "decoder", "roundtrip")


def read_fp32_model(model_dir: Path | None) -> ModelFiles:
    """The fp32 graphs and manifest of a model folder (None: the shipped model), checked by the runtime."""
    return read_model(model_dir, "fp32")


def make_input(part: str, batch: int, latent_dim: int, seed: int = 0) -> np.ndarray:
    """Images in [0, 1] for the encoder and the round trip, standard-normal latents for the decoder.

    An MLP's speed does not depend on the values, so random inputs measure the same as real digits.
    """
    rng = np.random.default_rng(seed)
    if part == "decoder":
        return rng.standard_normal((batch, latent_dim), dtype=np.float32)
    return rng.random((batch, *IMAGE_SHAPE), dtype=np.float32)


def flops_per_image(model: ModelFiles) -> dict[str, int]:
    """FLOPs of one image through each part, counted from the fp32 graphs' weight matrices.

    Every 2-D initializer of the graph is a dense layer's weight matrix; each of its entries is one
    multiply-add, two FLOPs. Biases, activations and the sigmoid add well under 1% and are left out.
    The int8 graphs compute the same layers, so their GFLOP/s are counted with the same numbers.
    """
    import onnx

    counts = {}
    for part in ("encoder", "decoder"):
        graph = onnx.load_from_string(model.graphs[part][1]).graph
        counts[part] = 2 * sum(math.prod(weight.dims) for weight in graph.initializer if len(weight.dims) == 2)
    counts["roundtrip"] = counts["encoder"] + counts["decoder"]
    return counts
