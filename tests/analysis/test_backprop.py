"""The notes' backpropagation rules, run by hand in NumPy (tests/reference/backprop.py), equal jax.grad to 1e-6
in float64; so do the notes' matrix-derivative identities."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.reference import backprop as ref

RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def float64():
  with jax.enable_x64(True):
    yield


def test_the_notes_sigmoid_example():
  """sigma(1) = 0.73 and its local gradient 0.73 x 0.27 = 0.20, as jax.grad finds."""
  assert float(jax.nn.sigmoid(1.0)) == pytest.approx(0.73, abs=0.005)
  local = float(jax.grad(jax.nn.sigmoid)(1.0))
  assert local == pytest.approx(0.73 * 0.27, abs=0.005) and round(local, 2) == 0.20


def test_mlp_backprop_by_hand_equals_jax_grad():
  x, targets = RNG.standard_normal((5, 4)), RNG.standard_normal((5, 3))
  params = {"x": x, "w1": RNG.standard_normal((4, 6)), "b1": RNG.standard_normal(6),
            "w2": RNG.standard_normal((6, 3)), "b2": RNG.standard_normal(3)}

  def loss(p):
    s = jax.nn.sigmoid(p["x"] @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]
    return 0.5 * jnp.sum((s - targets) ** 2)

  by_hand = ref.mlp_backward(targets=targets, **params)
  for name, grad in jax.grad(loss)({k: jnp.asarray(v) for k, v in params.items()}).items():
    np.testing.assert_allclose(grad, by_hand[name], rtol=1e-6, atol=1e-12)


def test_conv_and_max_pool_backprop_by_hand_equal_jax_grad():
  x, w = RNG.standard_normal((6, 7, 2)), RNG.standard_normal((3, 2, 2, 4))
  dy = RNG.standard_normal((4, 6, 4))  # the 'valid' output's shape

  def conv(x, w):
    return jax.lax.conv_general_dilated(x[None], w, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"))[0]

  np.testing.assert_allclose(conv(x, w), ref.correlate(x, w), rtol=1e-10)
  dx, dw = jax.grad(lambda x, w: jnp.sum(conv(x, w) * dy), argnums=(0, 1))(x, w)
  by_hand = ref.conv_backward(x, w, dy)
  np.testing.assert_allclose(dx, by_hand[0], rtol=1e-6, atol=1e-12)
  np.testing.assert_allclose(dw, by_hand[1], rtol=1e-6, atol=1e-12)
  pooled_grad = RNG.standard_normal((3, 3, 2))
  image = RNG.standard_normal((6, 6, 2))
  pool = lambda v: jax.lax.reduce_window(v, -jnp.inf, jax.lax.max, (2, 2, 1), (2, 2, 1), "VALID")  # noqa: E731
  np.testing.assert_allclose(jax.grad(lambda v: jnp.sum(pool(v) * pooled_grad))(image),
                             ref.max_pool_backward(image, pooled_grad), rtol=1e-12)


def test_the_notes_matrix_derivative_identities():
  x, a, b, c = (RNG.standard_normal(4) for _ in range(4))
  big_x, big_b = RNG.standard_normal((4, 4)), RNG.standard_normal((4, 4))
  np.testing.assert_allclose(jax.grad(lambda x: x @ a)(x), a, rtol=1e-12)                        # d x^T a / dx = a
  np.testing.assert_allclose(jax.grad(lambda m: a @ m @ b)(big_x), np.outer(a, b), rtol=1e-12)   # d a^T X b / dX
  np.testing.assert_allclose(jax.grad(lambda x: x @ big_b @ x)(x), (big_b + big_b.T) @ x, rtol=1e-10)
  np.testing.assert_allclose(jax.grad(lambda m: b @ m.T @ m @ c)(big_x),                          # d b^T X^T X c / dX
                             big_x @ (np.outer(b, c) + np.outer(c, b)), rtol=1e-10)
