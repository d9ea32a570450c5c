"""PixelCNN (van den Oord et al., 2016): convolutions masked so that the prediction for pixel i (raster order)
sees only pixels before it. The first layer's mask is type A (the centre tap excluded: a pixel never sees
itself), later layers' type B (the centre included: they read features that already exclude it).

`__call__(x)` on images (B, H, W, 1) in {0, 1} -> logits (B, H, W, 1) of each pixel being 1.
"""

from typing import Any

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from jaxdl.args import PositiveInt
from jaxdl.errors import InputShapeError
from jaxdl.nn.layers import Conv
from jaxdl.registry import models


def causal_mask(kernel: int, channels_in: int, channels_out: int, kind: str) -> np.ndarray:
  """(k, k, in, out) ones on the rows above the centre and left of it, and on the centre itself for type B."""
  if kind not in ("A", "B"):
    raise ValueError(f"mask type {kind!r}: choose A or B")
  mask = np.zeros((kernel, kernel, channels_in, channels_out), np.float32)
  centre = kernel // 2
  mask[:centre] = 1
  mask[centre, :centre + (kind == "B")] = 1
  return mask


def masked_conv(features: int, kernel: int, channels_in: int, kind: str, dtype=jnp.float32, name=None) -> Conv:
  """A 'SAME' convolution whose kernel is multiplied by the causal mask (flax's `mask`), through `layers.Conv`."""
  return Conv(features, (kernel, kernel), padding=kernel // 2, mask=jnp.asarray(causal_mask(kernel, channels_in,
                                                                                            features, kind)),
              dtype=dtype, name=name)


class ResidualBlock(nn.Module):
  """ReLU -> 1x1 (half the features) -> ReLU -> masked k x k (type B) -> ReLU -> 1x1, added back (the paper's
  PixelCNN block)."""

  features: int
  kernel: int = 3
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    half = self.features // 2
    h = masked_conv(half, 1, self.features, "B", self.dtype, "reduce")(nn.relu(x))
    h = masked_conv(half, self.kernel, half, "B", self.dtype, "masked")(nn.relu(h))
    return x + masked_conv(self.features, 1, half, "B", self.dtype, "expand")(nn.relu(h))


@models.register("pixelcnn")
class PixelCNN(nn.Module):
  """A type-A `first_kernel` convolution of `features`, `blocks` residual blocks, two 1x1 type-B layers."""

  features: PositiveInt = 64
  blocks: PositiveInt = 4
  first_kernel: PositiveInt = 5
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = False):
    del train
    if x.shape[-1] != 1:
      raise InputShapeError(f"PixelCNN here models one channel (its masks order pixels, not colours); got "
                            f"{x.shape[-1]} channels")
    h = masked_conv(self.features, self.first_kernel, x.shape[-1], "A", self.dtype, "first")(x)
    for i in range(self.blocks):
      h = ResidualBlock(self.features, dtype=self.dtype, name=f"block{i}")(h)
    h = masked_conv(self.features, 1, self.features, "B", self.dtype, "head_hidden")(nn.relu(h))
    return masked_conv(x.shape[-1], 1, self.features, "B", self.dtype, "head")(nn.relu(h)).astype(jnp.float32)
