"""The int8 recipe (training/quantize.py) on the shipped fp32 graphs and on small hand-made graphs:
what the int8 graphs may contain, how closely they follow the fp32 graphs on real digits, the
exact logistic, the kernels onnxruntime runs them with, and whether this CPU computes what the
shipped int8 graphs mean. Speed is measured in benchmarks/."""

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from conftest import SHIPPED_MODEL, graph_weights, optimized_op_types
from support.qdq_reference import run_reference
from vaeport.contract import GRAPH_FILES, INT8_WEIGHT_MAX, MANIFEST_FILE
from vaeport.runtime import VAERuntime
from vaeport.runtime.prior import Prior
from vaeport.runtime.sessions import open_graph
from vaeport.training import evaluate
from vaeport.training.errors import ExportError
from vaeport.training.quantize import (
    CALIBRATION_DIGITS,
    _layer_inputs,
    _round_weights,
    calibration_digits,
    quantize_graph,
    quantize_model,
)

MAX_IR_VERSION = 13  # what onnxruntime-web 1.30 loads
QUALITY_BUDGET = 0.15  # nats per test digit that int8 may cost over fp32
AGREEMENT_DIGITS = 1000

# How closely onnxruntime must follow the exact meaning of an int8 graph (qdq_reference.py). A correct
# kernel differs only by float32 rounding, except where that rounding tips a value across a rounding
# boundary of a QuantizeLinear: the output then moves by about one activation step, which stays under
# FLIP_LIMIT. The more activations a graph quantises, the more inputs meet such a boundary: the conv
# encoder quantises 9,408 a digit, and a few inputs in a thousand tip. Graphs whose products saturate
# on the CPU miss by up to 0.8 on most digits.
REFERENCE_TOLERANCE = 1e-4
FLIP_LIMIT = 0.1
FLIP_SHARE = 0.01


@pytest.fixture(scope="module")
def int8_dir(tmp_path_factory, data_root):
    """The shipped fp32 graphs quantised by the recipe, once for the tests below."""
    folder = tmp_path_factory.mktemp("int8")
    fp32 = {role: SHIPPED_MODEL / name for role, name in GRAPH_FILES["fp32"].items()}
    paths = {role: folder / name for role, name in GRAPH_FILES["int8"].items()}
    record = quantize_model(fp32, paths, calibration_digits(data_root, download=False))
    return {"paths": paths, "record": record}


@pytest.fixture(scope="module")
def digits(data_root):
    images, _ = evaluate.load_test_digits(data_root, download=False)
    return images


def test_calibration_uses_seeded_training_digits(data_root):
    first, again = calibration_digits(data_root, download=False), calibration_digits(data_root, download=False)
    assert first.shape == (CALIBRATION_DIGITS, 1, 28, 28) and first.dtype == np.float32
    np.testing.assert_array_equal(first, again)
    test, _ = evaluate.load_test_digits(data_root, download=False, limit=CALIBRATION_DIGITS)
    assert not np.array_equal(first, test)
    assert first.min() >= 0 and first.max() <= 1


@pytest.mark.parametrize("role", ["encoder", "decoder"])
def test_int8_graphs_hold_standard_operators_only(int8_dir, role):
    """onnxruntime-web and any other runtime must load them: no contrib operators, IR version it reads."""
    model = onnx.load(str(int8_dir["paths"][role]))
    assert model.ir_version <= MAX_IR_VERSION
    assert {(o.domain, o.version) for o in model.opset_import} == {("", 20)}
    assert all(node.domain in ("", "ai.onnx") for node in model.graph.node)
    ops = {node.op_type for node in model.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "Gemm"} <= ops
    assert not ops & {"DynamicQuantizeLinear", "MatMulInteger", "QLinearMatMul", "Sigmoid"}
    onnx.checker.check_model(model, full_check=True)


@pytest.mark.parametrize("role", ["encoder", "decoder"])
def test_weights_are_int8_with_one_scale_per_output_unit(int8_dir, role):
    model = onnx.load(str(int8_dir["paths"][role]))
    stored = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for layer in (node for node in model.graph.node if node.op_type in ("Gemm", "Conv", "ConvTranspose")):
        weight = layer.input[1]
        if weight in stored:  # a layer kept in float
            assert weight.removesuffix(".weight") in int8_dir["record"]["float_layers"][role]
            continue
        quantized, scale = stored[f"{weight}_quantized"], stored[f"{weight}_scale"]
        assert quantized.dtype == np.int8 and np.abs(quantized.astype(int)).max() == INT8_WEIGHT_MAX
        assert scale.shape == (quantized.shape[0],) and (scale > 0).all()
        assert stored[f"{layer.input[2]}_quantized"].dtype == np.int32


def test_only_the_layer_that_reads_z_and_the_transposed_convolutions_stay_float(int8_dir):
    """z comes as the caller sends it (sliders, prior samples): no range fixed at export may clip it.
    onnxruntime's CPU provider has no integer transposed convolution."""
    float_layers = int8_dir["record"]["float_layers"]
    assert float_layers["encoder"] == []
    assert sorted(float_layers["decoder"]) == ["decoder.body.0", "decoder.convs.1", "decoder.out"]
    decoder = onnx.load(str(int8_dir["paths"]["decoder"]))
    assert not [node for node in decoder.graph.node if node.op_type == "QuantizeLinear" and "z" in node.input]
    far = np.full((2, 10), 40.0, np.float32) * np.array([[1], [-1]], np.float32)
    (image,) = open_graph(int8_dir["paths"]["decoder"]).run(None, {"z": far})
    assert np.isfinite(image).all() and image.min() >= 0 and image.max() <= 1


def test_onnxruntime_runs_the_quantised_layers_as_integer_kernels(int8_dir, tmp_path):
    """The speed comes from onnxruntime fusing each QDQ group into one integer kernel; a graph it
    cannot fuse would dequantise its weights at every call and run float layers, correct but slow.
    The encoder: two convolutions and three dense layers; the decoder: its second dense layer (its
    first reads z, its transposed convolutions read the dequantised ReLU output)."""
    encoder = optimized_op_types(int8_dir["paths"]["encoder"], tmp_path)
    assert encoder["QLinearConv"] == 2 and encoder["QGemm"] == 3, encoder
    assert not {"DequantizeLinear", "Conv", "Gemm"} & set(encoder), encoder
    decoder = optimized_op_types(int8_dir["paths"]["decoder"], tmp_path)
    assert decoder["QGemm"] == 1 and decoder["DequantizeLinear"] == 1 and decoder["ConvTranspose"] == 2, decoder


def test_int8_graphs_follow_the_fp32_graphs_on_test_digits(int8_dir, digits):
    images = digits[:AGREEMENT_DIGITS]
    mu32, logvar32 = open_graph(SHIPPED_MODEL / "encoder.onnx").run(None, {"image": images})
    mu8, logvar8 = open_graph(int8_dir["paths"]["encoder"]).run(None, {"image": images})
    spread = mu32.std()  # errors in mu scale with how widely the latents spread (about 4 with the learned prior)
    assert np.abs(mu8 - mu32).max() < 0.15 * spread and np.abs(mu8 - mu32).mean() < 0.02 * spread
    assert np.abs(logvar8 - logvar32).max() < 0.2
    (p32,) = open_graph(SHIPPED_MODEL / "decoder.onnx").run(None, {"z": mu32})
    (p8,) = open_graph(int8_dir["paths"]["decoder"]).run(None, {"z": mu32})
    assert np.abs(p8 - p32).mean() < 0.003 and np.abs(p8 - p32).max() < 0.25


def test_int8_costs_under_0_15_nats_on_the_test_set(int8_dir, digits):
    prior = Prior.from_manifest(
        json.loads((SHIPPED_MODEL / "manifest.json").read_text())
    )  # the measure's KL is to the model's prior
    fp32 = evaluate.evaluate_graphs(SHIPPED_MODEL / "encoder.onnx", SHIPPED_MODEL / "decoder.onnx", digits, prior)[
        "metrics"
    ]
    int8 = evaluate.evaluate_graphs(int8_dir["paths"]["encoder"], int8_dir["paths"]["decoder"], digits, prior)[
        "metrics"
    ]
    assert fp32["neg_elbo"] <= int8["neg_elbo"] < fp32["neg_elbo"] + QUALITY_BUDGET
    assert int8["active_units"] == fp32["active_units"]


def test_int8_decoder_keeps_faint_pixels_probabilities_exact(int8_dir):
    """Its logistic is 1 / (1 + exp(y)) of the logits it computes, down to the smallest probabilities
    float32 holds at full precision (below about 1e-38 they fade to 0, as in the fp32 graph)."""
    model = onnx.load(str(int8_dir["paths"]["decoder"]))
    (exp,) = [node for node in model.graph.node if node.op_type == "Exp"]
    model.graph.output.append(helper.make_tensor_value_info(exp.input[0], TensorProto.FLOAT, None))
    probe = open_graph(model.SerializeToString())
    z = np.random.default_rng(0).standard_normal((64, 10)).astype(np.float32) * 2
    image, negated_logits = probe.run(None, {"z": z})
    exact = 1 / (1 + np.exp(negated_logits.astype(np.float64)))
    held = exact > 1e-37
    assert exact[held].min() < 1e-30, "the probe should reach faint pixels"
    np.testing.assert_allclose(image.reshape(exact.shape)[held], exact[held], rtol=1e-5)


def _tiny_graph(tail: list, weight: np.ndarray, trans_b: int = 1) -> onnx.ModelProto:
    """z [N, 2] -> Gemm(4) -> Relu -> Gemm(784) -> Reshape -> ``tail`` nodes, as a decoder graph."""
    rng = np.random.default_rng(0)
    initializers = [
        numpy_helper.from_array(rng.standard_normal((4, 2)).astype(np.float32), "w1"),
        numpy_helper.from_array(np.zeros(4, np.float32), "b1"),
        numpy_helper.from_array(weight, "w2"),
        numpy_helper.from_array(np.zeros(784, np.float32), "b2"),
        numpy_helper.from_array(np.array([-1, 1, 28, 28], np.int64), "shape"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
    ]
    nodes = [
        helper.make_node("Gemm", ["z", "w1", "b1"], ["h"], transB=1),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("Gemm", ["r", "w2", "b2"], ["logits"], transB=trans_b),
        helper.make_node("Reshape", ["logits", "shape"], ["view"]),
        *tail,
    ]
    graph = helper.make_graph(
        nodes,
        "decoder",
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 2])],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 28, 28])],
        initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)], ir_version=10)


LOGISTIC = [
    helper.make_node("Neg", ["view"], ["neg"]),
    helper.make_node("Exp", ["neg"], ["e"]),
    helper.make_node("Add", ["e", "one"], ["d"]),
    helper.make_node("Reciprocal", ["d"], ["image"]),
]


def test_the_logistic_loses_a_pass_and_keeps_its_values(tmp_path):
    source, target = tmp_path / "decoder.onnx", tmp_path / "decoder.int8.onnx"
    onnx.save(_tiny_graph(LOGISTIC, np.random.default_rng(1).standard_normal((784, 4)).astype(np.float32)), source)
    z = np.random.default_rng(2).standard_normal((256, 2)).astype(np.float32)
    quantize_graph(source, target, z, "decoder")
    tail = [
        n.op_type for n in onnx.load(str(target)).graph.node if n.op_type in ("Neg", "Exp", "Add", "Reciprocal", "Div")
    ]
    assert tail == ["Exp", "Add", "Div"]
    (expected,) = open_graph(source).run(None, {"z": z})
    (got,) = open_graph(target).run(None, {"z": z})
    np.testing.assert_allclose(got, expected, atol=0.02)


def test_a_decoder_without_the_exact_logistic_is_refused(tmp_path):
    source = tmp_path / "decoder.onnx"
    onnx.save(_tiny_graph([helper.make_node("Sigmoid", ["view"], ["image"])], np.ones((784, 4), np.float32)), source)
    with pytest.raises(ExportError, match="does not end in the logistic 1 / \\(1 \\+ exp\\(-x\\)\\)"):
        quantize_graph(source, tmp_path / "decoder.int8.onnx", np.zeros((8, 2), np.float32), "decoder")
    assert not (tmp_path / "decoder.int8.onnx").exists()


def test_a_layer_that_is_not_x_times_w_transposed_plus_b_is_refused(tmp_path):
    source = tmp_path / "decoder.onnx"
    onnx.save(_tiny_graph(LOGISTIC, np.ones((4, 784), np.float32), trans_b=0), source)
    with pytest.raises(ExportError, match="is not a dense layer x @ W.T \\+ b"):
        quantize_graph(source, tmp_path / "decoder.int8.onnx", np.zeros((8, 2), np.float32), "decoder")


def test_weights_are_rounded_to_keep_the_layer_outputs_not_each_weight():
    """Inputs that vary together let one weight's rounding error be made up by the others; inputs
    that vary independently leave nothing to make up, and each weight goes to its nearest step."""
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((32, 64))
    scale = np.abs(weight).max(axis=1) / INT8_WEIGHT_MAX
    nearest = np.clip(np.rint(weight / scale[:, None]), -INT8_WEIGHT_MAX, INT8_WEIGHT_MAX)

    independent = np.sqrt(len(weight)) * np.eye(64)
    np.testing.assert_array_equal(_round_weights(weight, scale, independent), nearest)

    correlated = np.maximum(rng.standard_normal((2000, 8)) @ rng.standard_normal((8, 64)), 0)
    rounded = _round_weights(weight, scale, correlated)
    assert np.abs(rounded).max() <= INT8_WEIGHT_MAX and np.array_equal(rounded, np.rint(rounded))

    def output_error(q):
        return np.linalg.norm(correlated @ (weight - q * scale[:, None]).T)

    assert output_error(rounded) < 0.5 * output_error(nearest)


# --- what the shipped int8 graphs compute on this CPU, against what they mean ---------------------


def assert_computes_what_it_means(got: np.ndarray, exact: np.ndarray, what: str) -> None:
    off = np.abs(got.reshape(len(got), -1).astype(np.float64) - exact.reshape(len(exact), -1)).max(axis=1)
    assert off.max() <= FLIP_LIMIT, f"{what}: off by {off.max():.3g} from the exact int8 arithmetic"
    tipped = (off > REFERENCE_TOLERANCE).mean()
    assert tipped <= FLIP_SHARE, f"{what}: {tipped:.2%} of the inputs off by more than {REFERENCE_TOLERANCE}"


@pytest.fixture(scope="module")
def exact_int8(digits):
    """The shipped int8 graphs' exact outputs on the 10,000 test digits and on latents from the prior
    and from those digits' posteriors."""
    paths = {role: SHIPPED_MODEL / name for role, name in GRAPH_FILES["int8"].items()}
    mu, logvar = run_reference(paths["encoder"], {"image": digits})
    manifest = json.loads((SHIPPED_MODEL / MANIFEST_FILE).read_text())
    z = np.concatenate([Prior.from_manifest(manifest).sample(2000, np.random.default_rng(0)), mu[:2000]]).astype(
        np.float32
    )
    (images,) = run_reference(paths["decoder"], {"z": z})
    return {"images": digits, "mu": mu, "logvar": logvar, "z": z, "decoded": images}


def _unfused_session(role: str):
    """The graph with no optimisation: QuantizeLinear, DequantizeLinear and float Gemm as separate
    operators, as a provider without integer kernels (CUDA) runs them."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return open_graph(SHIPPED_MODEL / GRAPH_FILES["int8"][role], session_options=options)


def _check_engine(encode, decode, exact, what: str) -> None:
    mu, logvar = encode(exact["images"])
    assert_computes_what_it_means(mu, exact["mu"], f"{what} encoder mu")
    assert_computes_what_it_means(logvar, exact["logvar"], f"{what} encoder logvar")
    assert_computes_what_it_means(decode(exact["z"]), exact["decoded"], f"{what} decoder")


@pytest.mark.slow
def test_this_cpu_computes_what_the_int8_graphs_mean(exact_int8):
    """The runtime as a user opens it: onnxruntime's fused integer kernels picked for this CPU."""
    vae = VAERuntime.load(device="cpu", precision="int8")
    _check_engine(vae.encode, vae.decode, exact_int8, "onnxruntime's int8 kernels on this CPU")


@pytest.mark.slow
def test_the_int8_graphs_unfused_compute_what_they_mean(exact_int8):
    encoder, decoder = _unfused_session("encoder"), _unfused_session("decoder")
    _check_engine(
        lambda images: encoder.run(None, {"image": images}),
        lambda z: decoder.run(None, {"z": z})[0],
        exact_int8,
        "QuantizeLinear, DequantizeLinear and float Gemm",
    )


@pytest.mark.cuda
def test_cuda_computes_what_the_int8_graphs_mean(exact_int8):
    vae = VAERuntime.load(device="cuda", precision="int8")
    assert vae.providers[0] == "CUDAExecutionProvider"
    _check_engine(vae.encode, vae.decode, exact_int8, "CUDA")


def _saturating_pair_sums(activations: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``activations [N, K] @ weights.T`` as x86's VPMADDUBSW adds them: products of neighbouring
    inputs summed in pairs in int16, saturating, then the pairs summed in int32."""
    a, w = activations.astype(np.int32), weights.astype(np.int32)
    pairs = a[:, None, 0::2] * w[None, :, 0::2] + a[:, None, 1::2] * w[None, :, 1::2]
    return np.clip(pairs, np.iinfo(np.int16).min, np.iinfo(np.int16).max).sum(axis=2)


def test_no_pair_of_products_saturates_16_bits_with_7_bit_weights(digits):
    """onnxruntime's uint8 x int8 kernel on x86 without VNNI adds pairs of products in 16 bits. On the
    encoder's first layer (a convolution: each output a 4x4 window of pixels) and real digits (ink at
    255), the shipped 7-bit weights never saturate a pair; the same layer's weights rounded to 8 bits
    do, on most digits."""
    graph = onnx.load(str(SHIPPED_MODEL / GRAPH_FILES["int8"]["encoder"])).graph
    first = next(node for node in graph.node if node.op_type == "Conv")
    stored = graph_weights(SHIPPED_MODEL / GRAPH_FILES["int8"]["encoder"])
    weights = stored[f"{first.input[1]}_quantized"]
    weights = weights.reshape(len(weights), -1)
    pixels = np.rint(digits[:100] * 255).astype(np.uint8)
    windows = _layer_inputs(first, pixels).astype(np.uint8)  # [100 digits x 196 positions, 16]
    exact = windows.astype(np.int64) @ weights.T.astype(np.int64)
    np.testing.assert_array_equal(_saturating_pair_sums(windows, weights), exact)

    fp32_weights = graph_weights(SHIPPED_MODEL / GRAPH_FILES["fp32"]["encoder"])[first.input[1]]
    fp32_weights = fp32_weights.reshape(len(fp32_weights), -1)
    eight_bit = np.rint(fp32_weights / (np.abs(fp32_weights).max(axis=1, keepdims=True) / 127)).astype(np.int8)
    wrong = _saturating_pair_sums(windows, eight_bit) != windows.astype(np.int64) @ eight_bit.T.astype(np.int64)
    assert wrong.reshape(100, -1).any(axis=1).mean() > 0.5
