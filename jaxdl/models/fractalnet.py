"""FractalNet (Larsson et al., 2017): self-similar blocks f_C(z) = join(f_{C-1}(f_{C-1}(z)), conv(z)), trained
with local and global drop-path so that any single column works alone."""

import functools
from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxdl.args import PositiveInt, Probability
from jaxdl.nn.layers import ConvNormAct
from jaxdl.nn.pool import global_avg_pool
from jaxdl.registry import models


class FractalBlock(nn.Module):
  """One fractal block of `columns` columns; the deepest column has 2^(columns - 1) convs.

  Join = mean over the surviving inputs. In training each sample is, with probability
  `global_rate`, assigned one column for the whole network (global drop-path: only that
  column's path survives); otherwise each join drops each input with probability
  `local_rate`, keeping at least one (local drop-path). `column` holds each sample's global
  column, or -1 for local sampling.
  """

  features: int
  columns: int
  local_rate: Probability = 0.15
  conv: Any = ConvNormAct

  def join(self, paths: list[tuple[int, jax.Array]], column, train: bool):
    """Mean of the (column id, tensor) paths that survive drop-path, per sample."""
    if len(paths) == 1:
      return paths[0][1]
    ids = jnp.asarray([c for c, _ in paths])                     # (P,)
    stacked = jnp.stack([t for _, t in paths])                   # (P, B, H, W, C)
    if not train:
      return stacked.mean(0)
    batch = stacked.shape[1]
    local = jax.random.bernoulli(self.make_rng("dropout"), 1 - self.local_rate, (len(paths), batch))
    # Keep at least one input per sample: revive a random one where all were dropped.
    revive = jax.nn.one_hot(jax.random.randint(self.make_rng("dropout"), (batch,), 0, len(paths)), len(paths)).T
    local = jnp.where(local.any(0, keepdims=True), local, revive > 0)
    is_global = column[None, :] >= 0                             # (1, B)
    global_keep = ids[:, None] == column[None, :]                # (P, B)
    # A global sample whose column is not among these paths ignores this join's output; keep all then.
    global_keep = jnp.where(global_keep.any(0, keepdims=True), global_keep, True)
    keep = jnp.where(is_global, global_keep, local).astype(stacked.dtype)[..., None, None, None]
    return (stacked * keep).sum(0) / keep.sum(0)

  def fractal(self, x, columns: int, offset: int, column, train: bool) -> list[tuple[int, jax.Array]]:
    """The unjoined paths of f_columns(x): column `offset` is the single conv, deeper ones follow."""
    shallow = (offset, self.conv(self.features, 3)(x, train))
    if columns == 1:
      return [shallow]
    deep = self.join(self.fractal(x, columns - 1, offset + 1, column, train), column, train)
    return [shallow] + self.fractal(deep, columns - 1, offset + 1, column, train)

  @nn.compact
  def __call__(self, x, column, train: bool = False):
    return self.join(self.fractal(x, self.columns, 0, column, train), column, train)


class FractalNet(nn.Module):
  """Blocks of widths 64, 128, 256, 512, 512 each followed by 2x2 max pooling (the paper's CIFAR model)."""

  num_classes: PositiveInt = 10
  columns: PositiveInt = 4
  widths: Sequence[PositiveInt] = (64, 128, 256, 512, 512)
  local_rate: Probability = 0.15
  global_rate: Probability = 0.5
  norm_axis_name: str | None = None
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = False):
    conv = functools.partial(ConvNormAct, norm_axis_name=self.norm_axis_name, dtype=self.dtype)
    batch = x.shape[0]
    column = jnp.full((batch,), -1)
    if train:
      rng_global, rng_column = jax.random.split(self.make_rng("dropout"))
      chosen = jax.random.randint(rng_column, (batch,), 0, self.columns)
      column = jnp.where(jax.random.bernoulli(rng_global, self.global_rate, (batch,)), chosen, -1)
    for width in self.widths:
      x = FractalBlock(width, self.columns, self.local_rate, conv)(x, column, train)
      x = nn.max_pool(x, (2, 2), strides=(2, 2), padding="SAME")
    return nn.Dense(self.num_classes, dtype=self.dtype)(global_avg_pool(x)).astype(jnp.float32)


models.register("fractalnet", FractalNet)
