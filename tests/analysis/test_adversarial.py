"""FGSM and PGD on a linear softmax classifier: nothing moves at epsilon 0, every step stays in the epsilon ball
and the image range, one step of PGD from x is FGSM, and the loss goes up."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl import losses
from jaxdl.analysis import adversarial

RNG = np.random.default_rng(0)
W = jnp.asarray(RNG.standard_normal((16, 3)), jnp.float32)
X = jnp.asarray(RNG.uniform(size=(6, 16)), jnp.float32)
Y = jnp.asarray(RNG.integers(0, 3, 6))


def loss_fn(x, y):
  return losses.softmax_cross_entropy(x @ W, y)


def test_fgsm_is_a_signed_gradient_step_and_at_epsilon_0_changes_nothing():
  np.testing.assert_array_equal(adversarial.fgsm(loss_fn, X, Y, 0.0), X)
  attacked = adversarial.fgsm(loss_fn, X, Y, 0.1)
  grad = jax.grad(lambda x: loss_fn(x, Y).sum())(X)
  np.testing.assert_allclose(attacked, jnp.clip(X + 0.1 * jnp.sign(grad), 0, 1), rtol=1e-6)
  assert bool(jnp.all(loss_fn(attacked, Y) >= loss_fn(X, Y)))


def test_pgd_stays_in_the_ball_and_the_range_and_its_first_full_step_is_fgsm():
  epsilon = 0.05
  attacked = jax.jit(adversarial.pgd, static_argnums=(0, 5))(loss_fn, X, Y, epsilon, 0.01, 20, jax.random.PRNGKey(0))
  assert float(jnp.abs(attacked - X).max()) <= epsilon + 1e-6
  assert float(attacked.min()) >= 0 and float(attacked.max()) <= 1
  np.testing.assert_array_equal(adversarial.pgd(loss_fn, X, Y, epsilon, epsilon, 1),
                                adversarial.fgsm(loss_fn, X, Y, epsilon))
  assert float(loss_fn(attacked, Y).mean()) > float(loss_fn(X, Y).mean())
