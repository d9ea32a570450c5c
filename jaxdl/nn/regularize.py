"""Regularizers that are layers: stochastic depth / drop-path (Huang et al., 2016; Larsson et al., 2017)."""

import flax.linen as nn
import jax
import jax.numpy as jnp


class DropPath(nn.Module):
  """Zeroes the whole residual branch of each sample with probability `rate`, scaling survivors by 1 / (1 - rate).

  Identity in eval. Uses the "dropout" rng stream, like nn.Dropout.
  """

  rate: float

  @nn.compact
  def __call__(self, x, train: bool = False):
    if not train or self.rate == 0.0:
      return x
    keep = jax.random.bernoulli(self.make_rng("dropout"), 1.0 - self.rate, (x.shape[0],) + (1,) * (x.ndim - 1))
    return jnp.where(keep, x / (1.0 - self.rate), 0.0).astype(x.dtype)
