"""ResNet (He et al., 2015), pre-activation ResNet (He et al., 2016), Wide ResNet (Zagoruyko & Komodakis,
2016) and ResNeXt (Xie et al., 2017), laid out as torchvision's so parameter counts match."""

import functools
from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from jaxdl.args import PositiveInt, Probability
from jaxdl.nn.layers import Stem, conv, max_pool_3x3_s2
from jaxdl.nn.norms import batch_norm
from jaxdl.nn.pool import global_avg_pool
from jaxdl.nn.regularize import DropPath
from jaxdl.registry import models


class BasicBlock(nn.Module):
  """Two 3x3 convs; `preact` moves BN-ReLU before each conv and drops the ReLU after the sum."""

  features: int
  strides: int = 1
  groups: PositiveInt = 1
  base_width: PositiveInt = 64
  preact: bool = False
  drop_path: Probability = 0.0
  norm_axis_name: str | None = None
  dtype: Any = jnp.float32
  expansion = 1

  @nn.compact
  def __call__(self, x, train: bool = False):
    norm = functools.partial(batch_norm, train, self.norm_axis_name, dtype=self.dtype)
    shortcut = x
    if self.preact:
      x = nn.relu(norm()(x))
    if shortcut.shape[-1] != self.features * self.expansion or self.strides != 1:
      shortcut = conv(self.features * self.expansion, 1, self.strides, dtype=self.dtype, name="proj")(x)
      if not self.preact:
        shortcut = norm(name="proj_norm")(shortcut)
    y = self.residual(x, norm)
    y = DropPath(self.drop_path)(y, train)
    return shortcut + y if self.preact else nn.relu(shortcut + y)

  def residual(self, x, norm):
    y = conv(self.features, 3, self.strides, dtype=self.dtype)(x)
    y = nn.relu(norm()(y))
    y = conv(self.features, 3, dtype=self.dtype)(y)
    return y if self.preact else norm()(y)


class Bottleneck(BasicBlock):
  """1x1 reduce -> 3x3 (stride here, "ResNet v1.5"; grouped for ResNeXt) -> 1x1 expand by 4."""

  expansion = 4

  def residual(self, x, norm):
    width = int(self.features * self.base_width / 64) * self.groups
    y = nn.relu(norm()(conv(width, 1, dtype=self.dtype)(x)))
    y = nn.relu(norm()(conv(width, 3, self.strides, groups=self.groups, dtype=self.dtype)(y)))
    y = conv(self.features * self.expansion, 1, dtype=self.dtype)(y)
    return y if self.preact else norm()(y)


BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}


class ResNet(nn.Module):
  """Stem, four stages of blocks (widths 64..512, stride 2 from stage 2), global average pool, linear head.

  `stem="small"` replaces the 7x7/2 conv and max pool by one 3x3/1 conv for 32x32 and smaller
  inputs; `drop_path` is stochastic depth's final rate, rising linearly over the blocks.
  """

  stage_sizes: Sequence[PositiveInt] = (2, 2, 2, 2)
  block: str = "basic"
  num_classes: PositiveInt = 1000
  width: PositiveInt = 64
  groups: PositiveInt = 1
  base_width: PositiveInt = 64
  stem: Stem = "imagenet"
  preact: bool = False
  drop_path: Probability = 0.0
  norm_axis_name: str | None = None
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = False):
    norm = functools.partial(batch_norm, train, self.norm_axis_name, dtype=self.dtype)
    if self.stem == "small":
      x = conv(self.width, 3, dtype=self.dtype, name="stem")(x)              # (B, H, W, 64)
    else:
      x = conv(self.width, 7, 2, dtype=self.dtype, name="stem")(x)           # (B, H/2, W/2, 64)
    if not self.preact:
      x = nn.relu(norm(name="stem_norm")(x))
    if self.stem != "small":
      x = max_pool_3x3_s2(x)                                                 # (B, H/4, W/4, 64)
    block_cls = BLOCKS[self.block]
    total, index = sum(self.stage_sizes), 0
    for stage, size in enumerate(self.stage_sizes):
      for i in range(size):
        x = block_cls(self.width * 2 ** stage, strides=2 if stage > 0 and i == 0 else 1, groups=self.groups,
                      base_width=self.base_width, preact=self.preact,
                      drop_path=self.drop_path * index / max(1, total - 1), norm_axis_name=self.norm_axis_name,
                      dtype=self.dtype)(x, train)
        index += 1
    if self.preact:
      x = nn.relu(norm(name="final_norm")(x))
    x = global_avg_pool(x)                                                   # (B, 512 x expansion)
    return nn.Dense(self.num_classes, dtype=self.dtype)(x).astype(jnp.float32)


class WideResNet(nn.Module):
  """WRN-depth-k for 32x32 inputs: pre-activation basic blocks, widths 16k, 32k, 64k; (depth - 4) / 6 per group."""

  depth: PositiveInt = 28
  widen: PositiveInt = 10
  dropout: Probability = 0.0
  num_classes: PositiveInt = 10
  norm_axis_name: str | None = None
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = False):
    if (self.depth - 4) % 6:
      raise ValueError(f"WideResNet depth must be 6n + 4, got {self.depth}")
    norm = functools.partial(batch_norm, train, self.norm_axis_name, dtype=self.dtype)
    x = conv(16, 3, use_bias=False, dtype=self.dtype)(x)
    for group, width in enumerate((16 * self.widen, 32 * self.widen, 64 * self.widen)):
      for i in range((self.depth - 4) // 6):
        strides = 2 if group > 0 and i == 0 else 1
        y = nn.relu(norm()(x))
        shortcut = x if x.shape[-1] == width and strides == 1 else conv(width, 1, strides, dtype=self.dtype)(y)
        y = conv(width, 3, strides, dtype=self.dtype)(y)
        y = nn.Dropout(self.dropout, deterministic=not train)(nn.relu(norm()(y)))
        x = shortcut + conv(width, 3, dtype=self.dtype)(y)
    x = global_avg_pool(nn.relu(norm()(x)))
    return nn.Dense(self.num_classes, dtype=self.dtype)(x).astype(jnp.float32)


ResNet18 = functools.partial(ResNet, stage_sizes=(2, 2, 2, 2), block="basic")
ResNet34 = functools.partial(ResNet, stage_sizes=(3, 4, 6, 3), block="basic")
ResNet50 = functools.partial(ResNet, stage_sizes=(3, 4, 6, 3), block="bottleneck")
ResNet101 = functools.partial(ResNet, stage_sizes=(3, 4, 23, 3), block="bottleneck")
ResNet152 = functools.partial(ResNet, stage_sizes=(3, 8, 36, 3), block="bottleneck")
WideResNet50_2 = functools.partial(ResNet, stage_sizes=(3, 4, 6, 3), block="bottleneck", base_width=128)
ResNeXt50_32x4d = functools.partial(ResNet, stage_sizes=(3, 4, 6, 3), block="bottleneck", groups=32, base_width=4)
WRN28_10 = functools.partial(WideResNet, depth=28, widen=10)

for _name, _model in {"resnet18": ResNet18, "resnet34": ResNet34, "resnet50": ResNet50, "resnet101": ResNet101,
                      "resnet152": ResNet152, "wide_resnet50_2": WideResNet50_2, "resnext50_32x4d": ResNeXt50_32x4d,
                      "wrn28_10": WRN28_10}.items():
  models.register(_name, _model)
