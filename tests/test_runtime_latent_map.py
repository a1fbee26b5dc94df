"""The latent map: the shipped manifest's plane and points, a map point turned back into z, and the
plane export chooses (training/latent_map.py)."""

import numpy as np
import pytest

from vaeport.runtime.errors import InputError
from vaeport.runtime.latent_map import LEVELS
from vaeport.training.evaluate import load_test_digits
from vaeport.training.latent_map import discriminant_plane, map_section


@pytest.fixture(scope="module")
def latent_map(vae):
    return vae.latent_map


def test_the_points_are_the_test_digits_mu_to_within_a_byte(vae, latent_map, data_root):
    images, labels = load_test_digits(data_root, download=False)
    order = np.argsort(labels, kind="stable")
    mu, _ = vae.encode(images[order])
    step = (mu.max(axis=0) - mu.min(axis=0)) / LEVELS
    assert latent_map.points.shape == mu.shape
    assert (np.abs(latent_map.points - mu) <= step / 2 + 1e-6).all()
    np.testing.assert_array_equal(latent_map.digits, labels[order])


def test_a_map_point_turns_back_into_z_and_leaves_the_rest_of_z_alone(latent_map):
    rng = np.random.default_rng(0)
    d = len(latent_map.centre)
    for axes in (latent_map.axes, latent_map.dimension_axes(0, 9)):
        np.testing.assert_allclose(axes @ axes.T, np.eye(2), atol=1e-9)
        z, point = 3 * rng.standard_normal(d), 5 * rng.standard_normal(2)
        moved = latent_map.place(z, point, axes)
        np.testing.assert_allclose(latent_map.project(moved, axes), point, atol=1e-9)
        off_plane = np.eye(d) - axes.T @ axes
        np.testing.assert_allclose(off_plane @ moved, off_plane @ z, atol=1e-9)
        np.testing.assert_allclose(latent_map.place(z, latent_map.project(z, axes), axes), z, atol=1e-9)


def test_a_map_point_must_be_two_finite_numbers(latent_map):
    with pytest.raises(InputError, match="two finite numbers"):
        latent_map.place(latent_map.centre, [1.0, np.nan])
    with pytest.raises(InputError, match="two different dimensions in 0..9"):
        latent_map.dimension_axes(4, 4)


def test_the_discriminant_plane_finds_what_tells_the_digits_apart_not_what_varies_most():
    """Ten classes apart along two quiet directions, with loud noise along the others: the plane of
    most variance would show the noise, the discriminant plane shows the classes."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 200)
    points = rng.standard_normal((2000, 6)) * np.array([0.3, 0.3, 8, 8, 8, 8])
    points[:, 0] += np.cos(labels * 0.6) * 2
    points[:, 1] += np.sin(labels * 0.6) * 2
    axes = discriminant_plane(points, labels)
    np.testing.assert_allclose(axes @ axes.T, np.eye(2), atol=1e-12)
    assert np.abs(axes[:, 2:]).max() < 0.05  # within the two class directions


def test_a_one_dimensional_latent_space_has_no_map_and_a_still_dimension_does_not_break_the_plane():
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(10), 50)
    points = rng.standard_normal((500, 4)) + labels[:, None] * np.array([1.0, 0.5, 0.0, 0.0])
    assert map_section(points[:, :1], labels) is None
    points[:, 3] = 2.5  # a dimension the encoder never moves
    axes = discriminant_plane(points, labels)
    np.testing.assert_allclose(axes @ axes.T, np.eye(2), atol=1e-9)
    assert np.abs(axes[:, 3]).max() < 1e-3
