"""Pooling the families share: adaptive average pooling (torchvision's AdaptiveAvgPool2d) and global pooling."""

import math

import jax.numpy as jnp


def adaptive_avg_pool(x, size: tuple[int, int]):
  """(B, H, W, C) -> (B, size[0], size[1], C); window i spans [floor(i H / n), ceil((i + 1) H / n))."""
  _, h, w, _ = x.shape
  if (h, w) == tuple(size):
    return x
  rows = [x[:, (i * h) // size[0]: math.ceil((i + 1) * h / size[0])].mean(1, keepdims=True) for i in range(size[0])]
  x = jnp.concatenate(rows, axis=1)
  cols = [x[:, :, (j * w) // size[1]: math.ceil((j + 1) * w / size[1])].mean(2, keepdims=True) for j in range(size[1])]
  return jnp.concatenate(cols, axis=2)


def global_avg_pool(x):
  """(B, H, W, C) -> (B, C)."""
  return x.mean(axis=(1, 2))
