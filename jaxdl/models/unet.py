"""The denoising U-Net of Ho et al. (2020): residual blocks told the noise step (and the label), self-attention
at low resolution, skip connections from each encoder block to its decoder mirror. Predicts the noise eps.

`__call__(x, t, labels=None, train=False)`: x (B, H, W, C), t (B,) int steps, labels (B,) ints or None (the
index `num_classes` is "no label", for classifier-free guidance) -> eps (B, H, W, C).
"""

import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxdl.args import NonNegativeInt, PositiveInt, Probability
from jaxdl.errors import InputShapeError
from jaxdl.nn.attention import MultiHeadAttention
from jaxdl.nn.conditioning import LabelEmbedding, TimestepEmbedding
from jaxdl.nn.layers import Conv
from jaxdl.registry import models


def _norm(features: int, dtype) -> nn.GroupNorm:
  return nn.GroupNorm(num_groups=math.gcd(8, features), dtype=dtype)


def _conv(features: int, kernel: int = 3, strides: int = 1, zero: bool = False, dtype=jnp.float32, name=None):
  return Conv(features, (kernel, kernel), strides=strides, padding=kernel // 2, dtype=dtype, name=name,
              kernel_init=nn.initializers.zeros if zero else nn.initializers.lecun_normal())


class ResidualBlock(nn.Module):
  """GroupNorm -> SiLU -> conv, plus the projected step/label embedding, GroupNorm -> SiLU -> dropout -> conv
  (zero-initialized: the block starts as its skip path)."""

  features: int
  dropout: float = 0.0
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, embedding, train: bool = False):
    h = _conv(self.features, dtype=self.dtype)(nn.silu(_norm(x.shape[-1], self.dtype)(x)))
    h = h + nn.Dense(self.features, dtype=self.dtype, name="embedding_proj")(nn.silu(embedding))[:, None, None]
    h = nn.Dropout(self.dropout, deterministic=not train)(nn.silu(_norm(self.features, self.dtype)(h)))
    h = _conv(self.features, zero=True, dtype=self.dtype)(h)
    skip = x if x.shape[-1] == self.features else _conv(self.features, 1, dtype=self.dtype, name="skip")(x)
    return skip + h


class SpatialAttention(nn.Module):
  """Self-attention among all H*W positions after a GroupNorm, added back (the U-Net's low resolutions)."""

  num_heads: int
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    b, h, w, c = x.shape
    tokens = _norm(c, self.dtype)(x).reshape(b, h * w, c)
    out, _ = MultiHeadAttention(self.num_heads, dtype=self.dtype, name="attention")(tokens)
    return x + out.reshape(b, h, w, c)


@models.register("unet")
class UNet(nn.Module):
  """`multipliers[i]` * `channels` features at level i (resolution / 2^i), `blocks` residual blocks per level,
  self-attention at the levels in `attention_levels` and in the middle."""

  channels: PositiveInt = 32
  multipliers: tuple[PositiveInt, ...] = (1, 2, 2)
  blocks: PositiveInt = 2
  attention_levels: tuple[NonNegativeInt, ...] = (2,)
  num_heads: PositiveInt = 4
  dropout: Probability = 0.1
  num_classes: PositiveInt = 10
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, t, labels=None, train: bool = False):
    levels = len(self.multipliers)
    _, height, width, out_channels = x.shape
    if height % 2 ** (levels - 1) or width % 2 ** (levels - 1):
      raise InputShapeError(f"{height}x{width} images do not halve {levels - 1} times (the U-Net's levels)")
    embedding = TimestepEmbedding(4 * self.channels, self.channels, dtype=self.dtype, name="time")(t)
    if labels is not None:
      embedding += LabelEmbedding(self.num_classes, 4 * self.channels, dtype=self.dtype, name="label")(labels)
    block = lambda level, name: ResidualBlock(self.multipliers[level] * self.channels, self.dropout,  # noqa: E731
                                              self.dtype, name=name)
    attend = lambda h, level, name: (SpatialAttention(self.num_heads, self.dtype, name=name)(h)  # noqa: E731
                                     if level in self.attention_levels else h)
    h = _conv(self.channels, dtype=self.dtype, name="stem")(x)
    skips = [h]
    for level in range(levels):
      for i in range(self.blocks):
        h = attend(block(level, f"down{level}_{i}")(h, embedding, train), level, f"down{level}_{i}_attention")
        skips.append(h)
      if level < levels - 1:
        h = _conv(h.shape[-1], strides=2, dtype=self.dtype, name=f"downsample{level}")(h)
        skips.append(h)
    h = block(levels - 1, "middle0")(h, embedding, train)
    h = SpatialAttention(self.num_heads, self.dtype, name="middle_attention")(h)
    h = block(levels - 1, "middle1")(h, embedding, train)
    for level in reversed(range(levels)):
      for i in range(self.blocks + 1):
        h = block(level, f"up{level}_{i}")(jnp.concatenate([h, skips.pop()], axis=-1), embedding, train)
        h = attend(h, level, f"up{level}_{i}_attention")
      if level > 0:
        b, hh, ww, c = h.shape
        h = jax.image.resize(h, (b, 2 * hh, 2 * ww, c), method="nearest")
        h = _conv(c, dtype=self.dtype, name=f"upsample{level}")(h)
    h = nn.silu(_norm(h.shape[-1], self.dtype)(h))
    return _conv(out_channels, zero=True, dtype=self.dtype, name="head")(h).astype(jnp.float32)
