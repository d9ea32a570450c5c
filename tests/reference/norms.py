"""Normalization formulas in NumPy: y = gamma (x - mu) / sqrt(var + eps) + beta over different axes."""

import numpy as np


def normalize(x, axes, eps=1e-5):
  mu = x.mean(axis=axes, keepdims=True)
  var = x.var(axis=axes, keepdims=True)
  return (x - mu) / np.sqrt(var + eps)


def batch_norm(x, eps=1e-5):
  """Over the batch and spatial axes, per channel (NHWC)."""
  return normalize(x, (0, 1, 2), eps)


def layer_norm(x, eps=1e-5):
  """Over the feature (last) axis of each position: the Transformer convention that flax follows."""
  return normalize(x, (-1,), eps)


def instance_norm(x, eps=1e-5):
  """Over the spatial axes, per example and channel."""
  return normalize(x, (1, 2), eps)


def group_norm(x, groups, eps=1e-5):
  """Channels split into `groups`; statistics per example and group over space and the group's channels."""
  b, h, w, c = x.shape
  g = x.reshape(b, h, w, groups, c // groups)
  return normalize(g, (1, 2, 4), eps).reshape(b, h, w, c)


def running_average(old, batch_value, momentum=0.9):
  """BatchNorm's running statistic: momentum old + (1 - momentum) batch (torch's momentum 0.1)."""
  return momentum * old + (1 - momentum) * batch_value
