"""DenseNet (Huang et al., 2017): each layer sees every earlier feature map of its block (torchvision layout)."""

import functools
from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from jaxdl.args import PositiveInt
from jaxdl.nn.layers import Stem, conv, max_pool_3x3_s2
from jaxdl.nn.norms import batch_norm
from jaxdl.nn.pool import global_avg_pool
from jaxdl.registry import models


class DenseNet(nn.Module):
  """Dense blocks of BN-ReLU-1x1 (bn_size x growth)-BN-ReLU-3x3 (growth) layers; transitions halve channels
  and resolution (DenseNet121: 7,978,856 params at 1,000 classes)."""

  block_sizes: Sequence[PositiveInt] = (6, 12, 24, 16)
  growth: PositiveInt = 32
  init_features: PositiveInt = 64
  bn_size: PositiveInt = 4
  num_classes: PositiveInt = 1000
  stem: Stem = "imagenet"
  norm_axis_name: str | None = None
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = False):
    norm = functools.partial(batch_norm, train, self.norm_axis_name, dtype=self.dtype)
    if self.stem == "small":
      x = conv(self.init_features, 3, dtype=self.dtype)(x)
    else:
      x = max_pool_3x3_s2(nn.relu(norm()(conv(self.init_features, 7, 2, dtype=self.dtype)(x))))  # (B, H/4, W/4)
    for i, size in enumerate(self.block_sizes):
      for _ in range(size):
        y = conv(self.bn_size * self.growth, 1, dtype=self.dtype)(nn.relu(norm()(x)))
        y = conv(self.growth, 3, dtype=self.dtype)(nn.relu(norm()(y)))
        x = jnp.concatenate([x, y], axis=-1)                      # channels grow by `growth`
      if i < len(self.block_sizes) - 1:
        x = conv(x.shape[-1] // 2, 1, dtype=self.dtype)(nn.relu(norm()(x)))
        x = nn.avg_pool(x, (2, 2), strides=(2, 2))                # transition: half the channels and size
    x = global_avg_pool(nn.relu(norm()(x)))
    return nn.Dense(self.num_classes, dtype=self.dtype)(x).astype(jnp.float32)


DenseNet121 = functools.partial(DenseNet, block_sizes=(6, 12, 24, 16))
models.register("densenet121", DenseNet121)
