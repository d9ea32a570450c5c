"""Losses against the notes' formulas in NumPy."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl import losses
from tests.reference import losses as ref

RNG = np.random.default_rng(0)
SCORES = RNG.normal(size=(16, 10)).astype(np.float32) * 3
LABELS = RNG.integers(0, 10, size=16)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy(smoothing):
  got = losses.softmax_cross_entropy(jnp.asarray(SCORES), jnp.asarray(LABELS), smoothing)
  chex.assert_shape(got, (16,))
  chex.assert_trees_all_close(np.asarray(got), ref.cross_entropy(SCORES.astype(np.float64), LABELS, smoothing),
                              rtol=1e-5)


def test_cross_entropy_of_uniform_scores_is_log_c():
  got = losses.softmax_cross_entropy(jnp.zeros((3, 10)), jnp.asarray([0, 4, 9]))
  chex.assert_trees_all_close(np.asarray(got), np.full(3, np.log(10)), rtol=1e-6)


def test_multiclass_svm_hinge_matches_the_notes_sum():
  got = losses.multiclass_hinge(jnp.asarray(SCORES), jnp.asarray(LABELS))
  chex.assert_trees_all_close(np.asarray(got), ref.svm_hinge(SCORES, LABELS), rtol=1e-5, atol=1e-5)
  # With all scores equal every wrong class costs the margin: C - 1.
  chex.assert_trees_all_close(np.asarray(losses.multiclass_hinge(jnp.zeros((2, 10)), jnp.asarray([1, 2]))),
                              np.full(2, 9.0))


def test_hinge_gradient_is_the_analytic_subgradient():
  """dL/ds_j = 1[s_j - s_y + 1 > 0] for j != y, and dL/ds_y = -(number of such j)."""
  grad = np.asarray(jax.grad(lambda s: losses.multiclass_hinge(s, jnp.asarray(LABELS)).sum())(jnp.asarray(SCORES)))
  active = (SCORES - SCORES[np.arange(16), LABELS][:, None] + 1 > 0).astype(np.float32)
  active[np.arange(16), LABELS] = 0
  expected = active.copy()
  expected[np.arange(16), LABELS] = -active.sum(1)
  np.testing.assert_array_equal(grad, expected)


def test_mse_and_penalties():
  pred, target = RNG.normal(size=(4, 3, 2)), RNG.normal(size=(4, 3, 2))
  chex.assert_trees_all_close(np.asarray(losses.mean_squared_error(jnp.asarray(pred), jnp.asarray(target))),
                              ref.mse(pred, target), rtol=1e-5)
  params = {"dense": {"kernel": RNG.normal(size=(3, 4)), "bias": RNG.normal(size=4)},
            "conv": {"kernel": RNG.normal(size=(3, 3, 2, 5)), "bias": RNG.normal(size=5)}}
  kernels = [params["conv"]["kernel"], params["dense"]["kernel"]]  # biases are not penalized
  jparams = jax.tree.map(jnp.asarray, params)
  np.testing.assert_allclose(float(losses.l1_penalty(jparams)), ref.l1(kernels), rtol=1e-5)
  np.testing.assert_allclose(float(losses.l2_penalty(jparams)), ref.l2(kernels), rtol=1e-5)
