"""AlexNet (Krizhevsky et al., 2012), the single-tower 64-192-384-256-256 variant of torchvision and the notes."""

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from jaxdl.args import PositiveInt, Probability
from jaxdl.nn.layers import Conv, Stem
from jaxdl.nn.pool import adaptive_avg_pool
from jaxdl.registry import models


class AlexNet(nn.Module):
  """Five convs, three max pools, two 4096-wide dropout FC layers (61,100,840 params at 1,000 classes).

  `stem="small"` makes conv1 3x3/1 for 32x32 and smaller inputs; `hidden` sets the FC width.
  """

  num_classes: PositiveInt = 1000
  hidden: PositiveInt = 4096
  dropout: Probability = 0.5
  stem: Stem = "imagenet"
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = False):
    conv = lambda f, k, s=1: Conv(f, (k, k), strides=s, padding=2 if k >= 5 else 1, dtype=self.dtype)  # noqa
    pool = lambda y: nn.max_pool(y, (3, 3), strides=(2, 2))  # noqa: E731
    x = nn.relu(conv(64, 11, 4)(x) if self.stem != "small" else conv(64, 3)(x))  # (B, 55, 55, 64) at 224
    x = pool(x)                                                                  # (B, 27, 27, 64)
    x = pool(nn.relu(conv(192, 5)(x)))                                           # (B, 13, 13, 192)
    x = nn.relu(conv(384, 3)(x))
    x = nn.relu(conv(256, 3)(x))
    x = pool(nn.relu(conv(256, 3)(x)))                                           # (B, 6, 6, 256)
    x = adaptive_avg_pool(x, (6, 6)).reshape(x.shape[0], -1)                     # (B, 9216)
    for _ in range(2):
      x = nn.relu(nn.Dense(self.hidden, dtype=self.dtype)(nn.Dropout(self.dropout, deterministic=not train)(x)))
    return nn.Dense(self.num_classes, dtype=self.dtype)(x).astype(jnp.float32)


models.register("alexnet", AlexNet)
