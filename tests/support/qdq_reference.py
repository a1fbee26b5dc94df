"""What an int8 QDQ graph means, computed in numpy from the graph's own integers and scales, on no CPU kernel.

onnxruntime runs a quantised layer as one integer GEMM picked for the CPU (VNNI, AMX, AVX2, NEON,
WebAssembly SIMD); this evaluates the same graph node by node in float64, where every product of
an 8-bit activation and an 8-bit weight and every sum of them is exact, and QuantizeLinear rounds
half to even and saturates as the ONNX specification says. A kernel that computes the graph
correctly differs from it only where float32 rounding tips a value across a rounding boundary of
a QuantizeLinear; a kernel that saturates differs by far more.
"""

from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper


def _quantize(x, scale, zero_point):
    info = np.iinfo(zero_point.dtype)
    return np.clip(np.rint(x / scale) + zero_point, info.min, info.max)  # rint: half to even


def _dequantize(q, scale, zero_point, axis=1):
    if scale.ndim == 1:  # one scale per slice along axis
        shape = [1] * q.ndim
        shape[axis] = -1
        scale, zero_point = scale.reshape(shape), zero_point.reshape(shape)
    return (q.astype(np.float64) - zero_point.astype(np.float64)) * scale


def _gemm(a, b, c=None, transA=0, transB=0, alpha=1.0, beta=1.0):  # noqa: N803 (ONNX attribute names)
    a, b = (a.T if transA else a), (b.T if transB else b)
    return alpha * (a @ b) + (0 if c is None else beta * c)


def _conv(x, w, b=None, kernel_shape=None, strides=(1, 1), pads=(0, 0, 0, 0), group=1, dilations=(1, 1), **_):
    """2-D convolution: every output position is its input window dotted with each filter."""
    assert group == 1 and tuple(dilations) == (1, 1), "the reference defines plain 2-D convolutions only"
    top, left, bottom, right = pads
    x = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    windows = np.lib.stride_tricks.sliding_window_view(x, w.shape[2:], axis=(2, 3))[:, :, :: strides[0], :: strides[1]]
    y = np.einsum("nchwij,ocij->nohw", windows, w.astype(np.float64))
    return y if b is None else y + b.reshape(1, -1, 1, 1)


def _conv_transpose(x, w, b=None, kernel_shape=None, strides=(1, 1), pads=(0, 0, 0, 0), group=1, dilations=(1, 1), **_):
    """2-D transposed convolution: each input value adds its weight-scaled filter into the output at
    stride spacing; ``pads`` are then cut from the edges."""
    assert group == 1 and tuple(dilations) == (1, 1), "the reference defines plain 2-D transposed convolutions only"
    n, _, height, width = x.shape
    kh, kw = w.shape[2:]
    sh, sw = strides
    full = np.zeros((n, w.shape[1], (height - 1) * sh + kh, (width - 1) * sw + kw))
    for i in range(kh):
        for j in range(kw):
            full[:, :, i : i + sh * height : sh, j : j + sw * width : sw] += np.einsum(
                "nchw,co->nohw", x, w[:, :, i, j]
            )
    top, left, bottom, right = pads
    y = full[:, :, top : full.shape[2] - bottom, left : full.shape[3] - right]
    return y if b is None else y + b.reshape(1, -1, 1, 1)


OPERATORS = {
    "QuantizeLinear": lambda x, scale, zero_point, **_: _quantize(x, scale, zero_point),
    "DequantizeLinear": lambda q, scale, zero_point, axis=1: _dequantize(q, scale, zero_point, axis),
    "Gemm": _gemm,
    "Conv": _conv,
    "ConvTranspose": _conv_transpose,
    "Relu": lambda x: np.maximum(x, 0),
    "Reshape": lambda x, shape, allowzero=0: x.reshape([x.shape[i] if s == 0 else s for i, s in enumerate(shape)]),
    "Exp": np.exp,
    "Add": np.add,
    "Div": np.divide,
}


def run_reference(graph_path: Path, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The graph's outputs for ``inputs``, in float64; refuses an operator it does not define."""
    graph = onnx.load(str(graph_path)).graph
    values = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    values.update({name: np.asarray(value, np.float64) for name, value in inputs.items()})
    for node in graph.node:
        if node.op_type not in OPERATORS:
            raise NotImplementedError(f"the reference does not define {node.op_type} (node {node.name!r})")
        attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        arguments = [values[name] for name in node.input if name]
        values[node.output[0]] = OPERATORS[node.op_type](*arguments, **attributes)
    return [values[output.name] for output in graph.output]
