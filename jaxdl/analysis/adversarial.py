"""Adversarial examples: the fast gradient sign method (Goodfellow et al., 2015) and projected gradient descent
(Madry et al., 2018), both moving the input up the loss inside an L-infinity ball of radius epsilon and
inside the image range."""

from collections.abc import Callable

import jax
import jax.numpy as jnp


def fgsm(loss_fn: Callable, x, y, epsilon: float, low: float = 0.0, high: float = 1.0):
  """x + epsilon sign(grad_x loss_fn(x, y)), clipped to [low, high]; `loss_fn` returns per-example losses."""
  grad = jax.grad(lambda x: loss_fn(x, y).sum())(x)
  return jnp.clip(x + epsilon * jnp.sign(grad), low, high)


def pgd(loss_fn: Callable, x, y, epsilon: float, step_size: float, steps: int, rng=None, low: float = 0.0,
        high: float = 1.0):
  """`steps` signed-gradient steps of `step_size`, each projected back onto the epsilon ball around x and the
  range; from a uniform random point of the ball when `rng` is given (Madry et al.'s restart), else from x."""
  start = x if rng is None else jnp.clip(x + jax.random.uniform(rng, x.shape, x.dtype, -epsilon, epsilon), low, high)

  def step(_, adversarial):
    grad = jax.grad(lambda a: loss_fn(a, y).sum())(adversarial)
    moved = jnp.clip(adversarial + step_size * jnp.sign(grad), x - epsilon, x + epsilon)
    return jnp.clip(moved, low, high)

  return jax.lax.fori_loop(0, steps, step, start)
