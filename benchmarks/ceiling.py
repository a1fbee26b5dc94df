"""How fast onnxruntime multiplies large matrices on this CPU: the ceiling no engine can pass.

The formula peak of machine.py is what the vector units could do; these are what onnxruntime's own
kernels reach on one large product with constant weights, as in the models: fp32 ``MatMul``, and
``MatMulInteger`` with uint8 activations and int8 weights in the graphs' 7-bit range. That is the integer GEMM of onnxruntime's
math library (MLAS) that the int8 graphs' fused layers run too (``QGemm`` for the static graphs,
``DynamicQuantizeMatMul`` for dynamic ones), picked at run time for the CPU: VNNI or AMX where it
has them. The ratio of a ceiling to PyTorch's GFLOP/s in a cell bounds the speed-up any engine can
show there: without VNNI, 8-bit products cost several instructions each, and the int8 ceiling is a
small multiple of the fp32 one.
"""

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from vaeport.benchmarks.engines import quiet_options
from vaeport.benchmarks.timing import median_latency_ns
from vaeport.contract import INT8_WEIGHT_MAX
from vaeport.runtime.sessions import open_graph

SIZE = 1024  # M = K = N: large enough that the kernels, not call overhead, set the time


def _graph(precision: str) -> bytes:
    rng = np.random.default_rng(0)
    if precision == "fp32":
        weights = rng.standard_normal((SIZE, SIZE), dtype=np.float32)
        node = helper.make_node("MatMul", ["a", "b"], ["y"])
        inputs, initializers, out_type = (
            [("a", TensorProto.FLOAT)],
            [numpy_helper.from_array(weights, "b")],
            TensorProto.FLOAT,
        )
    else:
        # The int8 graphs' weight range, which keeps the product exact on every CPU (see the contract).
        weights = rng.integers(-INT8_WEIGHT_MAX, INT8_WEIGHT_MAX + 1, (SIZE, SIZE), dtype=np.int8)
        node = helper.make_node("MatMulInteger", ["a", "b", "a_zero", "b_zero"], ["y"])
        initializers = [
            numpy_helper.from_array(weights, "b"),
            numpy_helper.from_array(np.array(128, np.uint8), "a_zero"),
            numpy_helper.from_array(np.array(0, np.int8), "b_zero"),
        ]
        inputs, out_type = [("a", TensorProto.UINT8)], TensorProto.INT32
    graph = helper.make_graph(
        [node],
        f"gemm_{precision}",
        [helper.make_tensor_value_info(name, dtype, [SIZE, SIZE]) for name, dtype in inputs],
        [helper.make_tensor_value_info("y", out_type, [SIZE, SIZE])],
        initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def _input(precision: str) -> np.ndarray:
    rng = np.random.default_rng(1)
    if precision == "fp32":
        return rng.standard_normal((SIZE, SIZE), dtype=np.float32)
    return rng.integers(0, 256, (SIZE, SIZE), dtype=np.uint8)


def _ops_per_second(precision: str, threads: int, seconds: float) -> float:
    """Multiply-adds as two operations each, over the median of calls made for ``seconds``."""
    session = open_graph(_graph(precision), device="cpu", threads=threads, session_options=quiet_options())
    feed = {"a": _input(precision)}
    session.run(None, feed)
    return 2 * SIZE**3 / (median_latency_ns(lambda: session.run(None, feed), seconds) * 1e-9)


def measure_ceilings(threads: tuple[int, ...], seconds: float) -> dict[int, dict[str, float]]:
    """``{threads: {"fp32": GFLOP/s, "int8": GOP/s}}`` of onnxruntime's CPU kernels."""
    return {
        count: {precision: _ops_per_second(precision, count, seconds) * 1e-9 for precision in ("fp32", "int8")}
        for count in threads
    }
