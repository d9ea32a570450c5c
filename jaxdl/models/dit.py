"""DiT (Peebles & Xie, 2023): a ViT over noisy-image patches whose LayerNorms are modulated by the step and label
embedding (adaLN-Zero). Each block's modulation is zero-initialized, including the gates on its residual
branches, so every block starts as the identity and the model predicts zero noise.

`__call__(x, t, labels=None, train=False)` as `jaxdl.models.unet.UNet`: the same denoiser interface.
"""

from typing import Any

import einops
import flax.linen as nn
import jax.numpy as jnp

from jaxdl.args import PositiveFloat, PositiveInt
from jaxdl.nn.attention import MultiHeadAttention
from jaxdl.nn.conditioning import LabelEmbedding, TimestepEmbedding
from jaxdl.nn.positional import sinusoidal
from jaxdl.nn.transformer import MLP
from jaxdl.models.vit import PatchEmbedding
from jaxdl.registry import models


def _modulate(x, shift, scale):
  """LayerNorm without its own affine, then the conditioning's: LN(x) (1 + scale) + shift."""
  return nn.LayerNorm(use_bias=False, use_scale=False, epsilon=1e-6, dtype=x.dtype)(x) * (1 + scale) + shift


def _zero_dense(features: int, dtype, name: str) -> nn.Dense:
  return nn.Dense(features, kernel_init=nn.initializers.zeros, dtype=dtype, name=name)


def grid_positions(rows: int, columns: int, features: int):
  """DiT's fixed 2-D sine-cosine positions (rows * columns, features): half the features encode the row, half
  the column, each with the Transformer's sinusoidal code."""
  row, column = jnp.meshgrid(jnp.arange(rows), jnp.arange(columns), indexing="ij")
  return jnp.concatenate([sinusoidal(row.reshape(-1), features // 2), sinusoidal(column.reshape(-1), features // 2)],
                         axis=-1)


class DiTBlock(nn.Module):
  """x + gate1 * Attention(modulate(x)), then x + gate2 * MLP(modulate(x)), the six modulations from c."""

  num_heads: int
  mlp_ratio: float = 4.0
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, c):
    modulation = _zero_dense(6 * x.shape[-1], self.dtype, "adaln")(nn.silu(c))[:, None]
    shift1, scale1, gate1, shift2, scale2, gate2 = jnp.split(modulation, 6, axis=-1)
    out, _ = MultiHeadAttention(self.num_heads, dtype=self.dtype, name="attention")(_modulate(x, shift1, scale1))
    x = x + gate1 * out
    return x + gate2 * MLP(self.mlp_ratio, dtype=self.dtype, name="mlp")(_modulate(x, shift2, scale2))


@models.register("dit")
class DiT(nn.Module):
  """DiT-S/2 is width=384, depth=12, num_heads=6, patch_size=2; the digits experiment runs a small one."""

  patch_size: PositiveInt = 2
  width: PositiveInt = 128
  depth: PositiveInt = 4
  num_heads: PositiveInt = 4
  mlp_ratio: PositiveFloat = 4.0
  num_classes: PositiveInt = 10
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, t, labels=None, train: bool = False):
    del train  # no dropout: DiT trains without it
    _, height, width, channels = x.shape
    p = self.patch_size
    tokens = PatchEmbedding(p, self.width, self.dtype, name="patch_embedding")(x)
    rows, columns = tokens.shape[1:3]
    h = tokens.reshape(tokens.shape[0], rows * columns, self.width) + \
        grid_positions(rows, columns, self.width).astype(self.dtype)
    c = TimestepEmbedding(self.width, 256, dtype=self.dtype, name="time")(t)  # DiT's 256 frequencies
    if labels is not None:
      c += LabelEmbedding(self.num_classes, self.width, dtype=self.dtype, name="label")(labels)
    for i in range(self.depth):
      h = DiTBlock(self.num_heads, self.mlp_ratio, self.dtype, name=f"block{i}")(h, c)
    shift, scale = jnp.split(_zero_dense(2 * self.width, self.dtype, "final_adaln")(nn.silu(c))[:, None], 2, -1)
    h = _zero_dense(p * p * channels, self.dtype, "head")(_modulate(h, shift, scale))
    return einops.rearrange(h, "b (h w) (p q c) -> b (h p) (w q) c", h=rows, p=p, q=p).astype(jnp.float32)
