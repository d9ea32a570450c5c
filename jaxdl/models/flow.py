"""RealNVP (Dinh et al., 2017): an invertible map from images to Gaussian noise built of affine coupling layers.
A coupling layer keeps the pixels its binary mask selects and moves the others by an affine function of them,
y = x_kept + (1 - mask) * (x * exp(s(x_kept)) + t(x_kept)), so its Jacobian is triangular with
log-determinant sum((1 - mask) * s) and its inverse needs no inverse of s or t.

Masks alternate: checkerboards at full resolution, then, after a 2x2 squeeze (space to depth, a permutation
with log-determinant 0), halves of the channels. `__call__(x)` -> (z, log_det) with z shaped like x;
`inverse(z)` -> x.
"""

from typing import Any

import einops
import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from jaxdl.args import PositiveInt
from jaxdl.errors import InputShapeError
from jaxdl.nn.layers import Conv
from jaxdl.registry import models


def checkerboard(height: int, width: int, channels: int, parity: int) -> np.ndarray:
  """(H, W, C) ones where (row + column) % 2 == parity."""
  grid = (np.add.outer(np.arange(height), np.arange(width)) % 2 == parity).astype(np.float32)
  return np.repeat(grid[..., None], channels, axis=-1)


def channel_mask(height: int, width: int, channels: int, parity: int) -> np.ndarray:
  """(H, W, C) ones on the first half of the channels (parity 0) or the second (parity 1)."""
  first = (np.arange(channels) < channels // 2).astype(np.float32)
  return np.broadcast_to(first if parity == 0 else 1 - first, (height, width, channels)).copy()


def squeeze(x):
  return einops.rearrange(x, "b (h p) (w q) c -> b h w (p q c)", p=2, q=2)


def unsqueeze(x):
  return einops.rearrange(x, "b h w (p q c) -> b (h p) (w q) c", p=2, q=2)


class AffineCoupling(nn.Module):
  """s and t from a small conv net of the kept pixels; s = scale * tanh(.) keeps exp(s) bounded. The net's last
  layer starts at zero, so the layer starts as the identity."""

  mask: Any  # (H, W, C) array of 0 / 1
  hidden: int = 64
  dtype: Any = jnp.float32

  def setup(self):
    self.net = [Conv(self.hidden, (3, 3), padding=1, dtype=self.dtype),
                Conv(self.hidden, (1, 1), dtype=self.dtype),
                Conv(2 * self.mask.shape[-1], (3, 3), padding=1, kernel_init=nn.initializers.zeros, dtype=self.dtype)]
    self.scale = self.param("scale", nn.initializers.ones, (self.mask.shape[-1],))

  def _shift_and_log_scale(self, kept):
    h = nn.relu(self.net[0](kept))
    h = nn.relu(self.net[1](h))
    log_scale, shift = jnp.split(self.net[2](h).astype(jnp.float32), 2, axis=-1)
    free = 1 - self.mask
    return free * shift, free * self.scale * jnp.tanh(log_scale)

  def __call__(self, x):
    kept = x * self.mask
    shift, log_scale = self._shift_and_log_scale(kept)
    return kept + (1 - self.mask) * (x * jnp.exp(log_scale) + shift), log_scale.reshape(x.shape[0], -1).sum(-1)

  def inverse(self, y):
    kept = y * self.mask
    shift, log_scale = self._shift_and_log_scale(kept)
    return kept + (1 - self.mask) * ((y - shift) * jnp.exp(-log_scale))


@models.register("realnvp")
class RealNVP(nn.Module):
  """`checkerboard_layers` couplings at full resolution, then `channel_layers` on the 2x2-squeezed image."""

  checkerboard_layers: PositiveInt = 4
  channel_layers: PositiveInt = 4
  hidden: PositiveInt = 64
  dtype: Any = jnp.float32

  def _layers(self, shape):
    height, width, channels = shape
    if height % 2 or width % 2:
      raise InputShapeError(f"{height}x{width} images do not squeeze 2x2 (RealNVP needs even sides)")
    first = [AffineCoupling(checkerboard(height, width, channels, i % 2), self.hidden, self.dtype,
                            name=f"checkerboard{i}") for i in range(self.checkerboard_layers)]
    second = [AffineCoupling(channel_mask(height // 2, width // 2, 4 * channels, i % 2), self.hidden, self.dtype,
                             name=f"channel{i}") for i in range(self.channel_layers)]
    return first, second

  @nn.compact
  def __call__(self, x, train: bool = False, inverse: bool = False):
    """x -> (z, log_det); with `inverse`, z -> x."""
    del train
    first, second = self._layers(x.shape[1:])
    if inverse:
      x = squeeze(x)
      for layer in reversed(second):
        x = layer.inverse(x)
      x = unsqueeze(x)
      for layer in reversed(first):
        x = layer.inverse(x)
      return x
    log_det = jnp.zeros(x.shape[0])
    for layer in first:
      x, d = layer(x)
      log_det += d
    x = squeeze(x)
    for layer in second:
      x, d = layer(x)
      log_det += d
    return unsqueeze(x), log_det

  def inverse(self, z):
    return self(z, inverse=True)
