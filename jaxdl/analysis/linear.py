"""The linear classifier's closed form: least squares onto one-hot targets, W* = (X^T X)^{-1} X^T Y, and each
class's row of W drawn as an image, the "template" it matches inputs against."""

import jax.numpy as jnp

from jaxdl.analysis.perceptron import with_bias


def least_squares(x, labels, num_classes: int, ridge: float = 0.0):
  """(W (D, C), b (C,)) minimizing ||[X 1] [W; b] - Y||^2 (+ ridge ||W||^2) for one-hot Y, by the normal
  equations (X^T X + ridge I) [W; b] = X^T Y in float32; `ridge` > 0 when X^T X is singular (constant pixels)."""
  xb = with_bias(jnp.asarray(x, jnp.float32).reshape(len(x), -1))
  y = jnp.eye(num_classes, dtype=jnp.float32)[labels]
  penalty = ridge * jnp.diag(jnp.ones(xb.shape[1]).at[-1].set(0.0))  # the bias is not shrunk
  solution = jnp.linalg.solve(xb.T @ xb + penalty, xb.T @ y)
  return solution[:-1], solution[-1]


def templates(weights, image_shape):
  """W (D, C) -> C images (C, *image_shape), each class's weights stretched to [0, 1] for display."""
  rows = jnp.moveaxis(weights, -1, 0)
  low, high = rows.min(axis=1, keepdims=True), rows.max(axis=1, keepdims=True)
  return ((rows - low) / jnp.maximum(high - low, 1e-12)).reshape(-1, *image_shape)
