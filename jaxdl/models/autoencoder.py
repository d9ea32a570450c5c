"""Autoencoders: an MLP encoder to a code of `latent` units and a mirrored MLP decoder back to one logit per
pixel (pixels in [0, 1] read as Bernoulli means). `variational=true` makes the encoder Gaussian, returning
the mean and log-variance of q(z | x): the VAE (Kingma & Welling, 2014); the task draws z from them.

Methods (through `apply(..., method=...)`): `encode(x)` -> code (B, latent), or (mean, log_variance);
`decode(z, image_shape)` -> logits (B, *image_shape). `__call__(x)` runs both on the code (or the mean).
"""

from typing import Any

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from jaxdl.args import PositiveInt
from jaxdl.registry import models


class _MLP(nn.Module):
  """ReLU layers of `widths`, then a linear layer of `out` units (given at the call: the decoder's is the image
  size, which only the input knows)."""

  widths: tuple[int, ...]
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, out: int):
    for i, width in enumerate(self.widths):
      x = nn.relu(nn.Dense(width, dtype=self.dtype, name=f"hidden{i}")(x))
    return nn.Dense(out, dtype=self.dtype, name="out")(x).astype(jnp.float32)


@models.register("autoencoder")
class Autoencoder(nn.Module):
  """`hidden` widths from the image inwards (the decoder mirrors them) and a `latent`-unit code."""

  hidden: tuple[PositiveInt, ...] = (256, 128)
  latent: PositiveInt = 16
  variational: bool = False
  dtype: Any = jnp.float32

  def setup(self):
    self.encoder = _MLP(self.hidden, self.dtype)
    self.decoder = _MLP(tuple(reversed(self.hidden)), self.dtype)

  def encode(self, x):
    code = self.encoder(x.reshape(x.shape[0], -1), 2 * self.latent if self.variational else self.latent)
    return tuple(jnp.split(code, 2, axis=-1)) if self.variational else code

  def decode(self, z, image_shape: tuple[int, ...]):
    return self.decoder(z, int(np.prod(image_shape))).reshape(z.shape[0], *image_shape)

  def __call__(self, x):
    code = self.encode(x)
    return self.decode(code[0] if self.variational else code, x.shape[1:])
