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
    embedding = TimestepEmbedding(4 * self.channels, self.channels, dtype=self.dtype, name="time")(t)
    if labels is not None:
      embedding += LabelEmbedding(self.num_classes, 4 * self.channels, dtype=self.dtype, name="label")(labels)
    h, skips = _encode(self, x, embedding, train)
    levels = len(self.multipliers)
    for level in reversed(range(levels)):
      for i in range(self.blocks + 1):
        h = _block(self, level, f"up{level}_{i}")(jnp.concatenate([h, skips.pop()], axis=-1), embedding, train)
        h = _attend(self, h, level, f"up{level}_{i}_attention")
      if level > 0:
        b, hh, ww, c = h.shape
        h = jax.image.resize(h, (b, 2 * hh, 2 * ww, c), method="nearest")
        h = _conv(c, dtype=self.dtype, name=f"upsample{level}")(h)
    h = nn.silu(_norm(h.shape[-1], self.dtype)(h))
    return _conv(x.shape[-1], zero=True, dtype=self.dtype, name="head")(h).astype(jnp.float32)


@models.register("unet_classifier")
class UNetClassifier(UNet):
  """Classifier guidance's noise-aware classifier (Dhariwal & Nichol, 2021): the U-Net's encoder half, told the
  noise step, then GroupNorm, SiLU, global average pooling (their attention pooling's simpler cousin) and a
  linear layer. `__call__(x_t, t, train=False)` -> logits (B, num_classes)."""

  @nn.compact
  def __call__(self, x, t, train: bool = False):
    embedding = TimestepEmbedding(4 * self.channels, self.channels, dtype=self.dtype, name="time")(t)
    h, _ = _encode(self, x, embedding, train)
    h = nn.silu(_norm(h.shape[-1], self.dtype)(h)).mean(axis=(1, 2))
    return nn.Dense(self.num_classes, dtype=self.dtype, name="head")(h).astype(jnp.float32)


def _block(unet: UNet, level: int, name: str) -> ResidualBlock:
  return ResidualBlock(unet.multipliers[level] * unet.channels, unet.dropout, unet.dtype, name=name)


def _attend(unet: UNet, h, level: int, name: str):
  return SpatialAttention(unet.num_heads, unet.dtype, name=name)(h) if level in unet.attention_levels else h


def _encode(unet: UNet, x, embedding, train: bool):
  """The contracting half and the middle, inside `unet`'s compact call (its submodules are the caller's):
  the lowest-resolution map and every skip the expanding half will take."""
  levels = len(unet.multipliers)
  _, height, width, _ = x.shape
  if height % 2 ** (levels - 1) or width % 2 ** (levels - 1):
    raise InputShapeError(f"{height}x{width} images do not halve {levels - 1} times (the U-Net's levels)")
  h = _conv(unet.channels, dtype=unet.dtype, name="stem")(x)
  skips = [h]
  for level in range(levels):
    for i in range(unet.blocks):
      h = _block(unet, level, f"down{level}_{i}")(h, embedding, train)
      h = _attend(unet, h, level, f"down{level}_{i}_attention")
      skips.append(h)
    if level < levels - 1:
      h = _conv(h.shape[-1], strides=2, dtype=unet.dtype, name=f"downsample{level}")(h)
      skips.append(h)
  h = _block(unet, levels - 1, "middle0")(h, embedding, train)
  h = SpatialAttention(unet.num_heads, unet.dtype, name="middle_attention")(h)
  return _block(unet, levels - 1, "middle1")(h, embedding, train), skips
