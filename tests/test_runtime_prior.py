"""The prior as the runtime reads it from a manifest: log-density, sampling, mean, and refusal of bad sections."""

import ast
import copy
import json
import math

import numpy as np
import pytest

from conftest import REPO, SHIPPED_MODEL
from vaeport.runtime.errors import InputError, ModelError
from vaeport.runtime.prior import Prior

# Three well-separated components in two dimensions: every sample can be traced to its component.
THREE = {
    "latent_dim": 2,
    "prior": {
        "type": "gaussian_mixture",
        "weights": [0.2, 0.5, 0.3],
        "means": [[-10.0, 0.0], [0.0, 5.0], [10.0, -2.0]],
        "logvars": [[0.0, math.log(0.25)], [0.0, math.log(4.0)], [math.log(0.5), math.log(2.0)]],
        "description": "three components for a test",
    },
}


def test_log_prob_matches_a_hand_computation():
    prior = Prior.from_manifest(THREE)
    z = np.array([[0.5, 4.0], [-9.0, 0.3]])

    def hand(point):
        total = 0.0
        for w, m, lv in zip(*(THREE["prior"][key] for key in ("weights", "means", "logvars"))):
            density = w
            for x, mean, logvar in zip(point, m, lv):
                var = math.exp(logvar)
                density *= math.exp(-0.5 * (x - mean) ** 2 / var) / math.sqrt(2 * math.pi * var)
            total += density
        return math.log(total)

    got = prior.log_prob(z)
    assert got.dtype == np.float64 and got.shape == (2,)
    np.testing.assert_allclose(got, [hand(point) for point in z], rtol=1e-12)
    assert prior.log_prob(z[0]) == pytest.approx(hand(z[0]), rel=1e-12)  # a single vector gives a float


def test_log_prob_stays_finite_far_from_every_component():
    """Densities underflow to 0 a few dozen sigma out; the logsumexp must not."""
    prior = Prior.from_manifest(THREE)
    far = prior.log_prob(np.array([[1e3, -1e3]]))
    assert np.isfinite(far).all()
    # so far out one component outweighs the others by thousands of nats: log p is its log-density alone
    point = (1e3, -1e3)
    per_component = [
        math.log(w)
        - 0.5
        * sum(
            (x - mean) ** 2 / math.exp(logvar) + logvar + math.log(2 * math.pi) for x, mean, logvar in zip(point, m, lv)
        )
        for w, m, lv in zip(*(THREE["prior"][key] for key in ("weights", "means", "logvars")))
    ]
    assert far[0] == pytest.approx(max(per_component), rel=1e-12)


def test_samples_follow_the_weights_and_moments_of_the_mixture():
    prior = Prior.from_manifest(THREE)
    n = 200_000
    z = prior.sample(n, np.random.default_rng(0))
    assert z.dtype == np.float32 and z.shape == (n, 2)
    component = np.digitize(z[:, 0], [-5.0, 5.0])  # the first coordinate tells the components apart
    frequencies = np.bincount(component, minlength=3) / n
    np.testing.assert_allclose(frequencies, THREE["prior"]["weights"], atol=0.005)  # 5 standard errors or more
    for k in range(3):
        chosen = z[component == k].astype(np.float64)
        np.testing.assert_allclose(chosen.mean(axis=0), THREE["prior"]["means"][k], atol=0.03)
        np.testing.assert_allclose(chosen.var(axis=0), np.exp(THREE["prior"]["logvars"][k]), rtol=0.03)
    np.testing.assert_allclose(z.mean(axis=0), prior.mean(), atol=0.05)
    weights, means = np.array(THREE["prior"]["weights"]), np.array(THREE["prior"]["means"])
    np.testing.assert_allclose(prior.mean(), weights @ means, rtol=1e-12)


def test_the_same_generator_state_gives_the_same_samples():
    prior = Prior.from_manifest(THREE)
    np.testing.assert_array_equal(
        prior.sample(10, np.random.default_rng(5)), prior.sample(10, np.random.default_rng(5))
    )


def test_a_manifest_without_a_prior_means_the_standard_normal():
    manifest = {"latent_dim": 3}
    prior = Prior.from_manifest(manifest)
    assert prior.is_standard_normal and prior.components == 1 and prior.latent_dim == 3
    np.testing.assert_array_equal(prior.mean(), np.zeros(3))
    z = np.array([[0.0, 1.0, -2.0], [0.5, 0.5, 0.5]])
    np.testing.assert_allclose(prior.log_prob(z), -0.5 * (3 * math.log(2 * math.pi) + (z**2).sum(axis=1)), rtol=1e-12)
    # exactly the generator's standard normal draws: a seed gives what it gave with N(0, I) alone
    np.testing.assert_array_equal(
        prior.sample(6, np.random.default_rng(1)), np.random.default_rng(1).standard_normal((6, 3), dtype=np.float32)
    )


def test_the_shipped_manifest_describes_a_valid_prior():
    manifest = json.loads((SHIPPED_MODEL / "manifest.json").read_text())
    prior = Prior.from_manifest(manifest)
    assert prior.latent_dim == manifest["latent_dim"]
    assert np.isfinite(prior.log_prob(prior.sample(100, np.random.default_rng(0)))).all()


def _broken(path: str, value):
    """THREE with prior.<path> replaced by ``value`` (or removed when value is ...)."""
    manifest = copy.deepcopy(THREE)
    target = manifest
    *parents, last = path.split(".")
    for key in parents:
        target = target[key]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return manifest


@pytest.mark.parametrize(
    "path, value, message",
    [
        ("prior", [1, 2], "manifest prior must be an object"),
        ("prior.type", "flow", "prior.type must be 'gaussian_mixture'; got 'flow'"),
        ("prior.type", ..., "prior.type must be 'gaussian_mixture'; got None"),
        ("prior.description", ..., "prior.description must be a string"),
        ("prior.weights", [], "prior.weights must be a non-empty list"),
        ("prior.weights", [0.2, 0.8, 0.0], "prior.weights must all be positive"),
        ("prior.weights", [-0.2, 0.9, 0.3], "prior.weights must all be positive"),
        ("prior.weights", [0.2, 0.5, 0.31], "prior.weights must sum to 1"),
        ("prior.weights", [0.2, 0.5, "0.3"], "prior.weights must be a list of K numbers"),
        ("prior.weights", [0.2, 0.5, True], "prior.weights must be a list of K numbers"),
        ("prior.weights", [0.2, 0.5, float("nan")], "prior.weights must hold finite numbers"),
        (
            "prior.means",
            [[0.0, 0.0], [1.0, 1.0]],
            r"prior.means must be a K x latent_dim list of lists, shape \[K, latent_dim\] = \[3, 2\]",
        ),
        ("prior.means", [[0.0, 0.0, 0.0]] * 3, r"prior.means .* = \[3, 2\] .*; got shape \[3, 3\]"),
        ("prior.means", [[0.0, 0.0], [1.0], [2.0, 2.0]], "prior.means .*got lists of different lengths"),
        ("prior.means", ..., "prior.means must be a K x latent_dim list of lists"),
        ("prior.logvars", [[0.0, 0.0], [0.0, float("inf")], [0.0, 0.0]], "prior.logvars must hold finite numbers"),
        (
            "prior.logvars",
            [[0.0, 0.0], [0.0, None], [0.0, 0.0]],
            "prior.logvars must be a K x latent_dim list of lists",
        ),
        ("latent_dim", 0, "latent_dim must be a positive whole number"),
    ],
)
def test_a_bad_prior_section_is_refused_by_name(path, value, message):
    with pytest.raises(ModelError, match=message):
        Prior.from_manifest(_broken(path, value))


def test_weights_that_miss_one_by_less_than_the_tolerance_are_accepted():
    prior = Prior.from_manifest(_broken("prior.weights", [0.2, 0.5, 0.3 + 5e-7]))
    assert prior.weights.sum() == pytest.approx(1.0, abs=1e-15)
    assert prior.sample(3, np.random.default_rng(0)).shape == (3, 2)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda p: p.sample(0, np.random.default_rng(0)), "n must be a whole number of at least 1"),
        (lambda p: p.sample(2.0, np.random.default_rng(0)), "n must be a whole number"),
        (lambda p: p.sample(2, 7), "rng must be a numpy Generator"),
        (lambda p: p.log_prob(np.zeros((4, 3))), r"z must have shape \[N, 2\] or \[2\]; got \[4, 3\]"),
    ],
)
def test_bad_arguments_are_refused(call, message):
    with pytest.raises(InputError, match=message):
        call(Prior.from_manifest(THREE))


def test_the_prior_module_imports_numpy_alone():
    """runtime/prior.py is the prior a runtime needs: no torch, no onnxruntime."""
    tree = ast.parse((REPO / "runtime" / "prior.py").read_text())
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {
        "math",
        "numbers",
        "numpy",
        "vaeport.runtime.arrays",
        "vaeport.runtime.errors",
        "vaeport.runtime.json_numbers",
    }, imported
