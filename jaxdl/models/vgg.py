"""VGG (Simonyan & Zisserman, 2014): configurations A, B, D, E, with or without BatchNorm, as in torchvision."""

import functools
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from jaxdl.args import PositiveInt, Probability
from jaxdl.nn.layers import Conv, Stem, conv_init
from jaxdl.nn.norms import batch_norm
from jaxdl.nn.pool import adaptive_avg_pool, global_avg_pool
from jaxdl.registry import models

# Convs per stage; each stage ends in a 2x2 max pool. Widths 64, 128, 256, 512, 512.
CONFIGS = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}


class VGG(nn.Module):
  """3x3 conv stacks and a 4096-4096 classifier (VGG16: 138,357,544 params at 1,000 classes).

  `stem="small"` keeps the convs but ends in global average pooling and one linear layer, the
  usual head for 32x32 inputs (five pools leave 1x1 there).
  """

  depth: PositiveInt = 16
  batch_norm: bool = False
  num_classes: PositiveInt = 1000
  dropout: Probability = 0.5
  stem: Stem = "imagenet"
  norm_axis_name: str | None = None
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = False):
    if self.depth not in CONFIGS:
      raise ValueError(f"VGG depth must be one of {sorted(CONFIGS)}, got {self.depth}")
    for stage, convs in enumerate(CONFIGS[self.depth]):
      for _ in range(convs):
        x = Conv(min(64 * 2 ** stage, 512), (3, 3), padding=1, kernel_init=conv_init, dtype=self.dtype)(x)
        if self.batch_norm:
          x = batch_norm(train, self.norm_axis_name, dtype=self.dtype)(x)
        x = nn.relu(x)
      x = nn.max_pool(x, (2, 2), strides=(2, 2), padding="SAME")    # halves H, W (a 1x1 map stays 1x1)
    if self.stem == "small":
      return nn.Dense(self.num_classes, dtype=self.dtype)(global_avg_pool(x)).astype(jnp.float32)
    x = adaptive_avg_pool(x, (7, 7)).reshape(x.shape[0], -1)        # (B, 25088)
    for _ in range(2):
      x = nn.Dropout(self.dropout, deterministic=not train)(nn.relu(nn.Dense(4096, dtype=self.dtype)(x)))
    return nn.Dense(self.num_classes, dtype=self.dtype)(x).astype(jnp.float32)


VGG11 = functools.partial(VGG, depth=11)
VGG13 = functools.partial(VGG, depth=13)
VGG16 = functools.partial(VGG, depth=16)
VGG19 = functools.partial(VGG, depth=19)
VGG11_BN = functools.partial(VGG, depth=11, batch_norm=True)
VGG13_BN = functools.partial(VGG, depth=13, batch_norm=True)
VGG16_BN = functools.partial(VGG, depth=16, batch_norm=True)
VGG19_BN = functools.partial(VGG, depth=19, batch_norm=True)

for _depth in CONFIGS:  # the public names above are what --model builds
  models.register(f"vgg{_depth}", globals()[f"VGG{_depth}"])
  models.register(f"vgg{_depth}_bn", globals()[f"VGG{_depth}_BN"])
