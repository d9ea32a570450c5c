"""Swin Transformer (Liu et al., 2021): attention inside non-overlapping M x M windows, every other block on
windows shifted by M/2 (so information crosses window borders), a learned relative position bias per head, and
patch merging between stages (a CNN-like pyramid at cost linear in the image area). Laid out as timm's, so
parameter counts match.
"""

import functools
from collections.abc import Sequence
from typing import Any

import einops
import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from jaxdl.args import PositiveFloat, PositiveInt, Probability
from jaxdl.errors import InputShapeError
from jaxdl.models.vit import PatchEmbedding
from jaxdl.nn.attention import MultiHeadAttention
from jaxdl.nn.positional import RelativePositionBias
from jaxdl.nn.regularize import DropPath
from jaxdl.nn.transformer import MLP
from jaxdl.registry import models


def window_partition(x, window: int):
  """(B, H, W, C) -> (B * H/M * W/M, M*M, C): the windows in row-major order, each a sequence of tokens."""
  return einops.rearrange(x, "b (h m) (w n) c -> (b h w) (m n) c", m=window, n=window)


def window_merge(windows, height: int, width: int):
  """The inverse of `window_partition` for an image of height x width tokens."""
  window = int(np.sqrt(windows.shape[1]))
  return einops.rearrange(windows, "(b h w) (m n) c -> b (h m) (w n) c", h=height // window, w=width // window,
                          m=window, n=window)


def relative_position_index(window: int) -> np.ndarray:
  """(M*M, M*M) rows of the (2M-1)^2-entry bias table: query and key offsets (dy, dx), each in [-(M-1), M-1],
  numbered (dy + M-1) * (2M-1) + (dx + M-1)."""
  coords = np.stack(np.meshgrid(np.arange(window), np.arange(window), indexing="ij")).reshape(2, -1)  # (2, M*M)
  offsets = coords[:, :, None] - coords[:, None, :] + window - 1                                      # (2, T, S)
  return offsets[0] * (2 * window - 1) + offsets[1]


def shifted_window_mask(height: int, width: int, window: int, shift: int) -> np.ndarray:
  """(windows, M*M, M*M), True where a query may attend to a key after the cyclic shift by `shift`: the
  windows along the bottom and right edges hold tokens rolled in from the opposite side, and tokens of
  different origin (the image's interior, its wrapped rows, its wrapped columns) must not see each other."""
  region = np.zeros((height, width), np.int32)
  bands = lambda n: (slice(0, n - window), slice(n - window, n - shift), slice(n - shift, n))  # noqa: E731
  for i, rows in enumerate(bands(height)):
    for j, cols in enumerate(bands(width)):
      region[rows, cols] = 3 * i + j
  windows = window_partition(region[None, :, :, None], window)[..., 0]                       # (windows, M*M)
  return windows[:, :, None] == windows[:, None, :]


class SwinBlock(nn.Module):
  """LN -> (shifted) window attention with relative position bias -> residual; LN -> MLP -> residual."""

  num_heads: int
  window: int
  shift: int = 0
  mlp_ratio: PositiveFloat = 4.0
  drop_path: float = 0.0
  train: bool = False
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    batch, height, width, channels = x.shape
    y = nn.LayerNorm(dtype=self.dtype, name="attention_norm")(x)
    if self.shift:
      y = jnp.roll(y, (-self.shift, -self.shift), axis=(1, 2))
    windows = window_partition(y, self.window)                                # (B * windows, M*M, C)
    bias = RelativePositionBias(self.num_heads, (2 * self.window - 1) ** 2, name="relative_position_bias")(
        relative_position_index(self.window))                                # (1, heads, M*M, M*M)
    mask = None
    if self.shift:
      mask = np.tile(shifted_window_mask(height, width, self.window, self.shift), (batch, 1, 1))[:, None]
    out, _ = MultiHeadAttention(self.num_heads, train=self.train, dtype=self.dtype, name="attention")(
        windows, mask=mask, bias=bias.astype(windows.dtype))
    y = window_merge(out, height, width)
    if self.shift:
      y = jnp.roll(y, (self.shift, self.shift), axis=(1, 2))
    x = x + DropPath(self.drop_path)(y, self.train)
    y = MLP(self.mlp_ratio, dtype=self.dtype, name="mlp")(nn.LayerNorm(dtype=self.dtype, name="mlp_norm")(x))
    return x + DropPath(self.drop_path)(y, self.train)


class PatchMerging(nn.Module):
  """Each 2x2 group of tokens concatenated (4C), LayerNorm, linear to 2C: half the resolution, twice the width."""

  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    if x.shape[1] % 2 or x.shape[2] % 2:
      raise InputShapeError(f"patch merging needs an even number of token rows and columns, got {x.shape[1:3]}")
    x = einops.rearrange(x, "b (h p) (w q) c -> b h w (q p c)", p=2, q=2)
    x = nn.LayerNorm(dtype=self.dtype, name="norm")(x)
    return nn.Dense(x.shape[-1] // 2, use_bias=False, dtype=self.dtype, name="reduction")(x)


class Swin(nn.Module):
  """Patch embedding (p x p, stride p; LayerNorm), stages of Swin blocks at widths embed_dim * 2^i with patch
  merging between them, final LayerNorm, global average pool, linear head.

  A stage whose resolution is no larger than `window` attends over the whole image, unshifted (as the
  reference code does). `drop_path` is stochastic depth's final rate, rising linearly over the blocks.
  """

  patch_size: PositiveInt = 4
  embed_dim: PositiveInt = 96
  depths: Sequence[PositiveInt] = (2, 2, 6, 2)
  num_heads: Sequence[PositiveInt] = (3, 6, 12, 24)
  window: PositiveInt = 7
  mlp_ratio: PositiveFloat = 4.0
  drop_path: Probability = 0.0
  num_classes: PositiveInt = 1000
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, images, train: bool = False):
    if len(self.depths) != len(self.num_heads):
      raise ValueError(f"depths {tuple(self.depths)} and num_heads {tuple(self.num_heads)} differ in length")
    x = PatchEmbedding(self.patch_size, self.embed_dim, self.dtype, name="patch_embedding")(images)
    x = nn.LayerNorm(dtype=self.dtype, name="patch_norm")(x)                 # (B, H/p, W/p, C)
    total, index = sum(self.depths), 0
    for stage, (depth, heads) in enumerate(zip(self.depths, self.num_heads)):
      _, height, width, _ = x.shape
      window = min(self.window, height, width)
      if height % window or width % window:
        raise InputShapeError(f"stage {stage}: {height}x{width} tokens do not split into {window}x{window} "
                              f"windows; choose an image size, patch size and window that divide")
      for i in range(depth):
        shift = window // 2 if i % 2 and window < min(height, width) else 0
        x = SwinBlock(heads, window, shift, self.mlp_ratio, self.drop_path * index / max(1, total - 1), train,
                      self.dtype, name=f"stage{stage}_block{i}")(x)
        index += 1
      if stage < len(self.depths) - 1:
        x = PatchMerging(self.dtype, name=f"stage{stage}_merge")(x)          # (B, H/2, W/2, 2C)
    x = nn.LayerNorm(dtype=self.dtype, name="norm")(x).mean(axis=(1, 2))
    head = nn.Dense(self.num_classes, kernel_init=nn.initializers.zeros, dtype=self.dtype, name="head")
    return head(x).astype(jnp.float32)  # zero-initialized: chance-level initial loss


SwinT = functools.partial(Swin, embed_dim=96, depths=(2, 2, 6, 2), num_heads=(3, 6, 12, 24))
SwinS = functools.partial(Swin, embed_dim=96, depths=(2, 2, 18, 2), num_heads=(3, 6, 12, 24))
SwinB = functools.partial(Swin, embed_dim=128, depths=(2, 2, 18, 2), num_heads=(4, 8, 16, 32))

models.register("swin", Swin)
for _name, _model in {"swin_t": SwinT, "swin_s": SwinS, "swin_b": SwinB}.items():
  models.register(_name, _model)
