"""The perceptron learning algorithm (Rosenblatt, 1958) and Novikoff's (1962) bound on its mistakes.

Predictions are sign(w^T x) with the bias folded into x (`with_bias`); on a mistake, w <- w + y x. If some unit
w* separates the data with margin gamma (y x^T w* >= gamma for every example) and every ||x|| <= 1, the
algorithm makes at most 1 / gamma^2 updates, whatever the order of the examples.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp


class PerceptronResult(NamedTuple):
  weights: jax.Array    # (D,)
  updates: jax.Array    # int32: mistakes corrected
  epochs: jax.Array     # int32: passes over the data
  converged: jax.Array  # bool: the last pass made no mistake


def with_bias(x):
  """x (N, D) -> (N, D + 1) with a trailing 1, so that w's last entry is the bias."""
  return jnp.concatenate([x, jnp.ones((*x.shape[:-1], 1), x.dtype)], axis=-1)


def train_perceptron(x, y, max_epochs: int = 1000) -> PerceptronResult:
  """Passes over (x (N, D), y (N,) in {-1, +1}) in order, from w = 0, until a pass makes no mistake or
  `max_epochs` passes. Jittable: each pass is one `lax.scan`, the passes one `lax.while_loop`. A point on the
  boundary (y w^T x = 0) counts as a mistake, so w = 0 classifies nothing."""
  x, y = jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)

  def visit(carry, example):
    w, updates = carry
    xi, yi = example
    wrong = yi * (w @ xi) <= 0
    return (jnp.where(wrong, w + yi * xi, w), updates + wrong.astype(jnp.int32)), None

  def one_pass(state):
    w, updates, epochs, _ = state
    (w, after), _ = jax.lax.scan(visit, (w, updates), (x, y))
    return w, after, epochs + 1, after == updates

  def going(state):
    return (~state[3]) & (state[2] < max_epochs)

  start = (jnp.zeros(x.shape[1], jnp.float32), jnp.int32(0), jnp.int32(0), jnp.bool_(False))
  return PerceptronResult(*jax.lax.while_loop(going, one_pass, start))


def margin(w, x, y):
  """min_i y_i x_i^T w / ||w||: the margin by which the direction of w separates the data (<= 0: it does not)."""
  return jnp.min(y * (x @ w)) / jnp.linalg.norm(w)


def mistake_bound(x, gamma):
  """Novikoff's (R / gamma)^2 with R = max ||x_i|| (1 / gamma^2 once the inputs are scaled into the unit ball)."""
  return (jnp.max(jnp.linalg.norm(x, axis=-1)) / gamma) ** 2
