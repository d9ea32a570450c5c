"""The perceptron learning algorithm and Novikoff's bound, on generated separable data."""

import jax
import numpy as np
import pytest

from jaxdl.analysis.perceptron import margin, mistake_bound, train_perceptron, with_bias


def separable(rng, count: int, dim: int, gamma: float):
  """`count` points in the unit ball at least `gamma` from the hyperplane of a random unit w*, labelled by
  its side, and w*."""
  w_star = rng.standard_normal(dim)
  w_star /= np.linalg.norm(w_star)
  points = np.zeros((0, dim))
  while len(points) < count:
    directions = rng.standard_normal((4 * count, dim))
    x = directions / np.linalg.norm(directions, axis=1, keepdims=True) * rng.uniform(size=(4 * count, 1)) ** (1 / dim)
    points = np.concatenate([points, x[np.abs(x @ w_star) >= gamma]])
  x = points[:count].astype(np.float32)
  return x, np.sign(x @ w_star).astype(np.float32), w_star


@pytest.mark.parametrize("gamma", [0.05, 0.1, 0.2, 0.4])
def test_updates_never_exceed_one_over_gamma_squared(gamma):
  """The notes' proof assumes y x^T w* >= 0 of the separating w*; the step "w^T w* grows by at least gamma" needs
  y x^T w* >= gamma for every example (a margin gamma), which the data here have, with ||x|| <= 1 and
  ||w*|| = 1. Over 20 data sets (and orders) per margin, the count of updates stays within 1 / gamma^2."""
  train = jax.jit(train_perceptron)
  rng = np.random.default_rng(int(gamma * 100))
  most = 0
  for _ in range(20):
    x, y, w_star = separable(rng, 200, 5, gamma)
    assert float(np.min(y * (x @ w_star))) >= gamma and float(np.linalg.norm(x, axis=1).max()) <= 1
    result = train(x, y)
    assert bool(result.converged) and float(margin(result.weights, x, y)) > 0
    assert int(result.updates) <= float(mistake_bound(x, gamma)) <= 1 / gamma ** 2  # (R / gamma)^2, R <= 1
    most = max(most, int(result.updates))
  assert most > 0


def test_the_bias_is_the_last_weight_and_a_mistake_adds_y_x():
  x = with_bias(np.array([[2.0, 0.0], [0.0, 3.0]], np.float32))
  np.testing.assert_array_equal(x[:, -1], 1.0)
  # from w = 0 the first example is a mistake (y w^T x = 0): w = y_1 x_1 = -(2, 0, 1); then (0, 3, 1) scores
  # -1 < 0 against y = +1: w = (-2, 3, 0); a second pass finds no mistake
  result = train_perceptron(x, np.array([-1.0, 1.0]))
  np.testing.assert_array_equal(result.weights, [-2.0, 3.0, 0.0])
  assert (int(result.updates), int(result.epochs), bool(result.converged)) == (2, 2, True)
  unseparable = train_perceptron(with_bias(np.array([[1.0], [1.0]], np.float32)), np.array([1.0, -1.0]),
                                 max_epochs=7)
  assert (int(unseparable.epochs), bool(unseparable.converged)) == (7, False)
