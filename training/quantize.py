"""Static int8 quantisation: the recipe of ``encoder.int8.onnx`` and ``decoder.int8.onnx``.

An int8 graph is its fp32 graph with QuantizeLinear and DequantizeLinear nodes around the dense
layers and convolutions (the QDQ format). Those are standard ONNX operators, so every runtime that
loads the fp32 graphs loads these, onnxruntime-web included. onnxruntime fuses each group of
DequantizeLinear -> Gemm (or Conv) -> ReLU -> QuantizeLinear into one integer kernel, uint8
activations times int8 weights summed in int32 (VNNI or AMX instructions where the CPU has them),
with a uint8 output for a hidden layer and a float output for the last.

- Weights: int8, symmetric, one scale per output unit (per output channel of a convolution), in
  -63..63 (``contract.INT8_WEIGHT_MAX``): 7 bits, so that onnxruntime's kernels compute the same
  integers on every CPU (the contract says why). The bit they give up is won back by how they are
  rounded: not each to its nearest step, but one input at a time, each rounding error spread over
  the weights not yet rounded in proportion to how the layer's calibration inputs vary together, so
  that the layer's outputs on those inputs move as little as possible (GPTQ: Frantar et al., 2022,
  "Accurate Post-Training Quantization for Generative Pre-trained Transformers"). Inputs are taken in
  order of their energy, the largest first.
- Biases: int32 at the scale of the product (activation scale x weight scale), as the kernels take them.
- Activations: uint8 with zero point 0, because every quantised layer reads a ReLU output or the
  image, both non-negative. Their scales are fixed here, not measured at every call: the image's is
  1/255, which holds MNIST's 8-bit pixels exactly; a ReLU output's is the largest value it takes
  on the calibration digits, over 255. Calibration uses training digits, never test digits: the
  encoder sees the images, the decoder one posterior sample per digit, ``mu + sigma * eps`` from
  the fp32 encoder, the latents it decodes in use.
- Kept in float: a layer whose input has no fixed range. That is the decoder's first layer, which
  reads ``z`` as the caller sends it (slider values, samples from the prior). The decoder's
  transposed convolutions stay float too: onnxruntime's default CPU provider has no integer kernel
  for them, so quantising them would only add conversions. The decoder's logits and logistic stay
  float.
- The logistic: the fp32 decoder ends in ``1 / (1 + exp(-x))`` (Neg, Exp, Add, Reciprocal: four
  passes over the output; see ``model.DecoderProbabilities`` for why not ``Sigmoid``). Here the last
  layer's weights and bias are negated, so that it computes ``y = -x`` itself, and the logistic
  becomes ``1 / (1 + exp(y))`` as Exp, Add, Div: three passes, two of which onnxruntime spreads over
  its threads, and the same exact arithmetic, since negation is exact in int8 as in float.
"""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from vaeport.contract import ENCODER_INPUT, ENCODER_OUTPUTS, INT8_WEIGHT_MAX
from vaeport.runtime.sessions import open_graph
from vaeport.training.data import download_mnist
from vaeport.training.errors import ExportError
from vaeport.training.mnist_files import read_mnist, to_unit_floats

CALIBRATION_DIGITS = 2000
CALIBRATION_SEED = 0
CALIBRATION_BATCH = 500
UINT8_MAX = 255
ROUNDING_DAMPING = 0.01  # of the mean input energy, added to the inputs' Gram matrix so that it inverts stably
IMAGE_SCALE = 1 / 255  # MNIST pixels are k/255
PASS_THROUGH = ("Reshape", "Flatten")  # a layer whose input comes through these reads what they read
LAST_LAYERS = ("Gemm", "ConvTranspose")  # what the decoder's logits may come from


def calibration_digits(
    data_root=None, download: bool = True, count: int = CALIBRATION_DIGITS, seed: int = CALIBRATION_SEED
) -> np.ndarray:
    """``count`` training digits drawn at random (seeded) from the 60,000, float32 ``[N, 1, 28, 28]`` in [0, 1]."""
    if download:
        download_mnist(data_root, train=True)
    images, _ = read_mnist(data_root, train=True)
    picks = np.random.default_rng(seed).choice(len(images), size=min(count, len(images)), replace=False)
    return to_unit_floats(images[np.sort(picks)])


def calibration_inputs(encoder_path: Path, digits: np.ndarray, seed: int = CALIBRATION_SEED) -> dict[str, np.ndarray]:
    """What each graph is calibrated on: ``digits`` (training images ``[N, 1, 28, 28]`` in [0, 1]) for
    the encoder, and for the decoder one posterior sample per digit from the fp32 encoder."""
    digits = np.ascontiguousarray(digits, dtype=np.float32)
    mu, logvar = _run(open_graph(Path(encoder_path)), ENCODER_INPUT, digits, list(ENCODER_OUTPUTS))
    eps = np.random.default_rng(seed).standard_normal(mu.shape, dtype=np.float32)
    return {"encoder": digits, "decoder": (mu + np.exp(0.5 * logvar) * eps).astype(np.float32)}


def quantize_model(fp32: dict[str, Path], int8: dict[str, Path], digits: np.ndarray) -> dict:
    """Write the int8 encoder and decoder (``int8[role]``) quantised from ``fp32[role]``, calibrated on
    ``digits``; returns the description the manifest records as ``quantization``."""
    if len(digits) == 0:
        raise ExportError(
            "no calibration digits: the int8 graphs are calibrated on training digits, expected at least one"
        )
    calibration = calibration_inputs(fp32["encoder"], digits)
    float_layers = {
        role: quantize_graph(fp32[role], int8[role], calibration[role], role) for role in ("encoder", "decoder")
    }
    return {
        "format": "QDQ (standard QuantizeLinear/DequantizeLinear around each Gemm and Conv)",
        "weights": f"int8 in -{INT8_WEIGHT_MAX}..{INT8_WEIGHT_MAX} (7 bits), symmetric, one scale per output unit, "
        "rounded by GPTQ against the layer's inputs on the calibration digits",
        "activations": "uint8, zero point 0; scale 1/255 for the image, else the largest value on the calibration digits / 255",
        "calibration": {
            "split": "train",
            "digits": len(digits),
            "seed": CALIBRATION_SEED,
            "decoder_inputs": "one posterior sample per digit from the fp32 encoder",
        },
        "float_layers": float_layers,
        "logistic": "1 / (1 + exp(y)) as Exp, Add, Div, with y = -logits from the last layer's negated weights",
    }


def quantize_graph(source: Path, target: Path, calibration: np.ndarray, role: str) -> list[str]:
    """Quantise the Gemm and Conv layers of the graph ``source`` into ``target``; returns the layers left in float.

    ``calibration`` is a batch of the graph's input; ``role`` is ``"encoder"`` or ``"decoder"``. The
    decoder's logistic is rewritten as the module docstring says; a decoder that does not end in it
    is refused.
    """
    if role not in ("encoder", "decoder"):
        raise ExportError(f'role must be "encoder" or "decoder"; got {role!r}')
    model = onnx.load(str(source))
    graph = model.graph
    producers = {output: node for node in graph.node for output in node.output}
    weights = {tensor.name: tensor for tensor in graph.initializer}
    layers = [node for node in graph.node if node.op_type in QUANTISED]
    for layer in layers:
        QUANTISED[layer.op_type](layer, weights, Path(source).name)
    if role == "decoder":
        _rewrite_logistic(graph, producers, weights, Path(source).name)

    float_layers = [_layer_name(node) for node in graph.node if node.op_type in FLOAT_OPERATORS]
    scales, relu_outputs = {}, []
    for layer in layers:
        origin = _origin(layer.input[0], producers)
        if origin is None:
            float_layers.append(_layer_name(layer))
        else:
            scales[layer.input[0]] = origin
            # A ReLU after a quantised layer is quantised too, even where a float layer reads it: onnxruntime
            # fuses a layer into an integer kernel only with its input, weights and output all quantised.
            relu = next(
                (node for node in graph.node if node.op_type == "Relu" and node.input[0] == layer.output[0]), None
            )
            if relu is not None:
                relu_outputs.append(relu.output[0])
    scales.update({name: "relu" for name in relu_outputs if name not in scales})
    activations = _activations(model, [name for name, origin in scales.items() if origin == "relu"], calibration)
    activations.update({name: calibration for name, origin in scales.items() if origin == "image"})
    scales = {
        name: IMAGE_SCALE if origin == "image" else _uint8_scale(float(activations[name].max()))
        for name, origin in scales.items()
    }
    rounding_inputs = {
        layer.name: _layer_inputs(layer, _through_uint8(activations[layer.input[0]], scales[layer.input[0]]))
        for layer in layers
        if layer.input[0] in scales
    }

    _insert_qdq(graph, layers, scales, weights, rounding_inputs)
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as error:
        raise ExportError(f"the int8 graph quantised from {Path(source).name} is not valid ONNX: {error}") from None
    onnx.save(model, str(target))
    return float_layers


def _check_dense(layer, weights: dict, file_name: str) -> None:
    """A Gemm as torch.onnx exports ``nn.Linear``: ``x @ W.T + b`` with W and b stored in the graph."""
    attributes = {a.name: helper.get_attribute_value(a) for a in layer.attribute}
    linear = (
        attributes.get("transA", 0) == 0
        and attributes.get("transB", 0) == 1
        and attributes.get("alpha", 1.0) == 1.0
        and attributes.get("beta", 1.0) == 1.0
    )
    if not linear or len(layer.input) != 3 or layer.input[1] not in weights or layer.input[2] not in weights:
        raise ExportError(
            f"{file_name}: Gemm {layer.name!r} is not a dense layer x @ W.T + b with W and b stored in the graph "
            f"(attributes {attributes}); the int8 recipe quantises only layers as torch.onnx exports nn.Linear"
        )


def _check_conv(layer, weights: dict, file_name: str) -> None:
    """A Conv as torch.onnx exports ``nn.Conv2d``: one group, no dilation, weights and bias stored in the graph."""
    attributes = {a.name: helper.get_attribute_value(a) for a in layer.attribute}
    plain = (
        attributes.get("group", 1) == 1
        and set(attributes.get("dilations", [1, 1])) == {1}
        and len(attributes.get("kernel_shape", [])) == 2
    )
    if not plain or len(layer.input) != 3 or layer.input[1] not in weights or layer.input[2] not in weights:
        raise ExportError(
            f"{file_name}: Conv {layer.name!r} is not a 2-D convolution with one group, no dilation and its weights "
            f"and bias stored in the graph (attributes {attributes}); the int8 recipe quantises only those"
        )


QUANTISED = {"Gemm": _check_dense, "Conv": _check_conv}  # layer operator -> the check that it is one we quantise
FLOAT_OPERATORS = ("ConvTranspose",)  # no integer kernel in onnxruntime's CPU provider: they stay float


def _layer_name(layer) -> str:
    """A layer as the manifest names it: its weight's name without ``.weight``."""
    return layer.input[1].removesuffix(".weight")


def _layer_inputs(layer, values: np.ndarray) -> np.ndarray:
    """What ``layer`` multiplies its weights with, one row per output value: ``values`` flattened for a
    Gemm; for a Conv, each output position's window of ``values [N, C, H, W]``, ordered as the
    weights ``[units, C, kh, kw]`` flatten."""
    if layer.op_type == "Gemm":
        return values.reshape(len(values), -1)
    attributes = {a.name: helper.get_attribute_value(a) for a in layer.attribute}
    kernel = attributes["kernel_shape"]
    strides = attributes.get("strides", [1, 1])
    top, left, bottom, right = attributes.get("pads", [0, 0, 0, 0])
    padded = np.pad(values, ((0, 0), (0, 0), (top, bottom), (left, right)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, kernel, axis=(2, 3))[
        :, :, :: strides[0], :: strides[1]
    ]  # [N, C, H_out, W_out, kh, kw]
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(-1, values.shape[1] * kernel[0] * kernel[1])


def _rewrite_logistic(graph, producers: dict, weights: dict, file_name: str) -> None:
    """``Gemm -> Reshape -> Neg -> Exp -> Add(1) -> Reciprocal`` at the decoder's output becomes
    ``Gemm(-W, -b) -> Reshape -> Exp -> Add(1) -> Div(1, .)``: the same values, one pass fewer.

    Div rather than Reciprocal: both divide exactly, but onnxruntime spreads Div (as Add) over its
    threads, while Reciprocal, Neg and Exp run on one.
    """
    consumers = {}
    for node in graph.node:
        for name in node.input:
            consumers[name] = consumers.get(name, 0) + 1
    chain, tensor = [], graph.output[0].name
    for op_types in (("Reciprocal",), ("Add",), ("Exp",), ("Neg",), LAST_LAYERS):
        if op_types == LAST_LAYERS:  # the logits may come through a Reshape
            tensor = _past_pass_through(tensor, producers)
        node = producers.get(tensor)
        if node is None or node.op_type not in op_types or (chain and consumers.get(tensor) != 1):
            raise ExportError(
                f"{file_name} does not end in the logistic 1 / (1 + exp(-x)) after its last layer (Gemm or "
                "ConvTranspose, Reshape, Neg, Exp, Add, Reciprocal); the int8 recipe expects the decoder that "
                "model.DecoderProbabilities exports"
            )
        chain.append(node)
        tensor = node.input[0]
    reciprocal, add, exp, neg, layer = chain
    if len(layer.input) != 3 or not all(name in weights for name in layer.input[1:3]):
        raise ExportError(
            f"{file_name}: the last layer {layer.name!r} does not store its weights and bias in the graph"
        )
    one = next((name for name in add.input if name in weights), None)
    if one is None or numpy_helper.to_array(weights[one]).tolist() != 1.0:
        raise ExportError(
            f"{file_name}: the logistic's Add does not add the constant 1 (its inputs are {list(add.input)})"
        )
    for name in layer.input[1:3]:
        weights[name].CopyFrom(numpy_helper.from_array(-numpy_helper.to_array(weights[name]), name))
    exp.input[0] = neg.input[0]
    graph.node.remove(neg)
    divide = helper.make_node(
        "Div", [one, reciprocal.input[0]], list(reciprocal.output), name=f"{reciprocal.name}_as_Div"
    )
    index = list(graph.node).index(reciprocal)
    graph.node.remove(reciprocal)
    graph.node.insert(index, divide)


def _past_pass_through(tensor: str, producers: dict) -> str:
    """The tensor that ``tensor`` carries unchanged through ``PASS_THROUGH`` nodes (itself if none)."""
    node = producers.get(tensor)
    while node is not None and node.op_type in PASS_THROUGH:
        tensor = node.input[0]
        node = producers.get(tensor)
    return tensor


def _origin(tensor: str, producers: dict) -> str | None:
    """``"relu"`` or ``"image"`` when a layer's input is known non-negative, so uint8 with zero point 0
    holds it; None when it may take any value (it then stays float)."""
    tensor = _past_pass_through(tensor, producers)
    node = producers.get(tensor)
    if node is None:
        return "image" if tensor == ENCODER_INPUT else None
    return "relu" if node.op_type == "Relu" else None


def _activations(model, tensors: list[str], inputs: np.ndarray) -> dict[str, np.ndarray]:
    """The values each of ``tensors`` takes when the fp32 graph runs on ``inputs``."""
    if not tensors:
        return {}
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    del probe.graph.output[:]
    probe.graph.output.extend(helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in tensors)
    session = open_graph(probe.SerializeToString())
    input_name = session.get_inputs()[0].name
    values = _run(session, input_name, np.ascontiguousarray(inputs, dtype=np.float32), tensors)
    return dict(zip(tensors, values))


def _run(session, input_name: str, inputs: np.ndarray, outputs: list[str]) -> list[np.ndarray]:
    """``outputs`` of ``session`` over ``inputs`` in batches, concatenated."""
    runs = [
        session.run(outputs, {input_name: inputs[i : i + CALIBRATION_BATCH]})
        for i in range(0, len(inputs), CALIBRATION_BATCH)
    ]
    return [np.concatenate(parts) for parts in zip(*runs)]


def _uint8_scale(largest: float) -> float:
    return largest / UINT8_MAX if largest > 0 else 1.0  # a unit that never fires: any scale holds its zeros


def _through_uint8(values: np.ndarray, scale: float) -> np.ndarray:
    """``values`` as a layer reads them after QuantizeLinear and DequantizeLinear, in float64."""
    return np.clip(np.rint(values.astype(np.float64) / scale), 0, UINT8_MAX) * scale


def _round_weights(weight: np.ndarray, scale: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """``weight [units, inputs]`` as integers in -INT8_WEIGHT_MAX..INT8_WEIGHT_MAX at ``scale [units]``,
    rounded so that ``inputs [N, inputs] @ weight.T`` moves as little as it can (GPTQ).

    With H the Gram matrix of the inputs and U the upper Cholesky factor of its inverse, rounding
    input i leaves an error e; subtracting e * U[i, j] / U[i, i] from each weight j > i not yet rounded
    is the least-squares correction of the outputs (the Optimal Brain Surgeon update).
    """
    gram = inputs.T @ inputs
    silent = np.diag(gram) == 0  # inputs that never fire on the calibration digits: rounded as they are
    gram[silent, silent] = 1.0
    gram += ROUNDING_DAMPING * np.diag(gram).mean() * np.eye(len(gram))
    order = np.argsort(-np.diag(gram), kind="stable")
    pending = weight[:, order].astype(np.float64)
    factor = np.linalg.cholesky(np.linalg.inv(gram[np.ix_(order, order)])).T
    rounded = np.empty_like(pending)
    for i in range(pending.shape[1]):
        rounded[:, i] = np.clip(np.rint(pending[:, i] / scale), -INT8_WEIGHT_MAX, INT8_WEIGHT_MAX)
        error = (pending[:, i] - rounded[:, i] * scale) / factor[i, i]
        pending[:, i + 1 :] -= np.outer(error, factor[i, i + 1 :])
    result = np.empty_like(rounded)
    result[:, order] = rounded
    return result


def _insert_qdq(graph, layers: list, scales: dict[str, float], weights: dict, rounding_inputs: dict) -> None:
    """Quantise each layer whose input has a scale: its input through QuantizeLinear/DequantizeLinear
    (once per tensor, shared by the layers that read it), its weights and bias stored as integers,
    the weights rounded against ``rounding_inputs[layer.name]``, what the layer multiplies them with
    on the calibration digits."""
    added, after = [], {}
    for name, scale in scales.items():
        graph.initializer.extend(
            [
                numpy_helper.from_array(np.array(scale, np.float32), f"{name}_scale"),
                numpy_helper.from_array(np.array(0, np.uint8), f"{name}_zero_point"),
            ]
        )
        after[name] = [
            helper.make_node(
                "QuantizeLinear",
                [name, f"{name}_scale", f"{name}_zero_point"],
                [f"{name}_quantized"],
                name=f"{name}_QuantizeLinear",
            ),
            helper.make_node(
                "DequantizeLinear",
                [f"{name}_quantized", f"{name}_scale", f"{name}_zero_point"],
                [f"{name}_dequantized"],
                name=f"{name}_DequantizeLinear",
            ),
        ]
    for layer in layers:
        if layer.input[0] not in scales:
            continue
        activation_scale = np.float32(scales[layer.input[0]])
        weight_name, bias_name = layer.input[1], layer.input[2]
        stored_weight = numpy_helper.to_array(weights[weight_name])  # [units, inputs] or [units, C, kh, kw]
        weight = stored_weight.reshape(len(stored_weight), -1).astype(np.float64)
        bias = numpy_helper.to_array(weights[bias_name]).astype(np.float64)
        peak = np.abs(weight).max(axis=1)
        weight_scale = np.where(peak > 0, peak / INT8_WEIGHT_MAX, 1.0).astype(np.float32)
        bias_scale = (activation_scale * weight_scale).astype(np.float32)
        quantized_bias = np.round(bias / bias_scale)
        if np.abs(quantized_bias).max() >= 2**31:
            raise ExportError(
                f"the bias of {layer.name!r} does not fit int32 at its scale; its activations' range is too narrow"
            )
        stored = {
            weight_name: _round_weights(weight, weight_scale.astype(np.float64), rounding_inputs[layer.name])
            .reshape(stored_weight.shape)
            .astype(np.int8),
            bias_name: quantized_bias.astype(np.int32),
        }
        for name, scale in ((weight_name, weight_scale), (bias_name, bias_scale)):
            graph.initializer.remove(weights[name])
            graph.initializer.extend(
                [
                    numpy_helper.from_array(stored[name], f"{name}_quantized"),
                    numpy_helper.from_array(scale, f"{name}_scale"),
                    numpy_helper.from_array(np.zeros(scale.shape, stored[name].dtype), f"{name}_zero_point"),
                ]
            )
            added.append(
                helper.make_node(
                    "DequantizeLinear",
                    [f"{name}_quantized", f"{name}_scale", f"{name}_zero_point"],
                    [name],
                    name=f"{name}_DequantizeLinear",
                    axis=0,
                )
            )

    nodes = list(graph.node)
    for node in nodes:  # whatever read a quantised tensor reads it dequantised
        node.input[:] = [f"{name}_dequantized" if name in scales else name for name in node.input]
    del graph.node[:]
    graph.node.extend(added)  # weights first: they depend on nothing
    for name in scales:
        if not any(name in node.output for node in nodes):  # a graph input
            graph.node.extend(after.pop(name))
    for node in nodes:
        graph.node.append(node)
        for output in node.output:
            graph.node.extend(after.pop(output, []))
