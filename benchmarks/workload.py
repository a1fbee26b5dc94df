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

    The networks' speed does not depend on the values (dense layers and convolutions, no branches), so
    random inputs measure the same as real digits.
    """
    rng = np.random.default_rng(seed)
    if part == "decoder":
        return rng.standard_normal((batch, latent_dim), dtype=np.float32)
    return rng.random((batch, *IMAGE_SHAPE), dtype=np.float32)


def flops_per_image(model: ModelFiles) -> dict[str, int]:
    """FLOPs of one image through each part, counted from the fp32 graphs' layers.

    A multiply-add is two FLOPs. A dense layer (Gemm) makes one per weight; a convolution one per
    weight and output position; a transposed convolution one per weight and input position.
    Biases, activations and the logistic add well under 1% and are left out. The int8 graphs
    compute the same layers, so their GFLOP/s are counted with the same numbers.
    """
    import onnx

    counts = {}
    for part in ("encoder", "decoder"):
        graph = onnx.shape_inference.infer_shapes(onnx.load_from_string(model.graphs[part][1])).graph
        weights = {tensor.name: math.prod(tensor.dims) for tensor in graph.initializer}
        positions = {  # a feature map's positions per image: the dimensions after batch and channels
            value.name: math.prod(dim.dim_value for dim in value.type.tensor_type.shape.dim[2:])
            for value in (*graph.input, *graph.value_info, *graph.output)
        }
        counts[part] = 2 * sum(_multiply_adds(node, weights, positions) for node in graph.node)
    counts["roundtrip"] = counts["encoder"] + counts["decoder"]
    return counts


def _multiply_adds(node, weights: dict[str, int], positions: dict[str, int]) -> int:
    if node.op_type == "Gemm":
        return weights[node.input[1]]
    if node.op_type == "Conv":
        return weights[node.input[1]] * positions[node.output[0]]
    if node.op_type == "ConvTranspose":
        return weights[node.input[1]] * positions[node.input[0]]
    return 0
