"""A CIFAR-10 speed-run network in the spirit of airbench (Jordan, 2024) and Page's ResNet speed runs:
a frozen patch-whitening first conv, three conv-pool-BN-GELU blocks, a scaled linear head."""

import functools
from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxdl.args import PositiveFloat, PositiveInt
from jaxdl.nn import matmul_conv
from jaxdl.nn.layers import Conv
from jaxdl.nn.norms import batch_norm
from jaxdl.registry import models


def whitening_filters(images: jax.Array, patch: int = 2, eps: float = 5e-4) -> jax.Array:
  """2x2 conv filters that whiten the images' patches: covariance eigenvectors scaled by 1/sqrt(eigenvalue),
  each with its negation (so a ReLU-like nonlinearity keeps both signs). Shape (patch, patch, C, 2 * patch^2 C)."""
  c = images.shape[-1]
  patches = jax.lax.conv_general_dilated_patches(images, (patch, patch), (1, 1), "VALID",
                                                 dimension_numbers=("NHWC", "OIHW", "NHWC"))
  patches = patches.reshape(-1, patches.shape[-1])                    # (N', C * patch^2), channel-major
  patches = patches - patches.mean(0)
  eigenvalues, eigenvectors = jnp.linalg.eigh(patches.T @ patches / len(patches))
  filters = (eigenvectors / jnp.sqrt(eigenvalues + eps)).T            # (C * p^2 filters, C * p^2 inputs)
  filters = jnp.concatenate([filters, -filters])                     # (2 C p^2, C p^2)
  return filters.reshape(-1, c, patch, patch).transpose(2, 3, 1, 0)  # (p, p, C, 2 C p^2) HWIO


class SpeedrunNet(nn.Module):
  """Whitening conv (computed from the init batch, kept fixed in the "constants" collection), then per block:
  conv3x3 -> max pool 2 -> BN -> GELU -> conv3x3 -> BN -> GELU; global max pool; linear head times `scale`."""

  num_classes: PositiveInt = 10
  widths: Sequence[PositiveInt] = (64, 256, 256)
  scale: PositiveFloat = 1 / 9  # airbench's logit scale
  norm_axis_name: str | None = None
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = False):
    kernel = self.variable("constants", "whiten", whitening_filters, x).value  # fixed after init
    x = matmul_conv.conv_general_dilated(x.astype(self.dtype), kernel.astype(self.dtype), (1, 1), "VALID",
                                         dimension_numbers=("NHWC", "HWIO", "NHWC"))
    x = nn.gelu(x + self.param("whiten_bias", nn.initializers.zeros, (kernel.shape[-1],)))
    norm = functools.partial(batch_norm, train, self.norm_axis_name, dtype=self.dtype)
    for width in self.widths:
      x = Conv(width, (3, 3), padding=1, use_bias=False, dtype=self.dtype)(x)
      x = nn.gelu(norm()(nn.max_pool(x, (2, 2), strides=(2, 2), padding="SAME")))
      x = nn.gelu(norm()(Conv(width, (3, 3), padding=1, use_bias=False, dtype=self.dtype)(x)))
    x = x.max(axis=(1, 2))                                                    # global max pool
    return (nn.Dense(self.num_classes, use_bias=False, dtype=self.dtype)(x) * self.scale).astype(jnp.float32)


models.register("speedrun", SpeedrunNet)
