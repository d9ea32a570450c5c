"""DCGAN (Radford et al., 2016) for small images, and its conditional form (Mirza & Osindero, 2014): the
generator maps noise (and a label) to an image through fractionally-strided convolutions, the discriminator
maps an image (and the label, as constant extra channels) to one logit through strided convolutions with
leaky ReLUs. No batch normalization, so the two networks' updates need no running statistics.

`generate(z, labels, image_shape)` -> images in [0, 1]; `discriminate(images, labels)` -> logits (B,);
`__call__(images, z, labels)` runs both (to initialize them). Parameters: {"generator", "discriminator"}.
"""

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxdl.args import PositiveInt
from jaxdl.errors import InputShapeError
from jaxdl.nn.layers import Conv
from jaxdl.registry import models


def _labels_as(labels, num_classes: int, like):
  """One-hot labels broadcast to `like`'s leading and spatial axes, to concatenate as channels."""
  onehot = jax.nn.one_hot(labels, num_classes, dtype=like.dtype)
  return jnp.broadcast_to(onehot.reshape(like.shape[0], *([1] * (like.ndim - 2)), num_classes),
                          (*like.shape[:-1], num_classes))


class Generator(nn.Module):
  """z (and the label's one-hot) -> Dense to a (H/4, W/4, 2F) map -> two 2x upsamplings by 4x4 convolutions
  over the input dilated by 2 (a transposed convolution) -> sigmoid."""

  features: int = 64
  num_classes: int = 10
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, z, labels, image_shape):
    height, width, channels = image_shape
    if height % 4 or width % 4:
      raise InputShapeError(f"{height}x{width} images: the DCGAN generator doubles its map twice, so sides must be "
                            "multiples of 4")
    if labels is not None:
      z = jnp.concatenate([z, jax.nn.one_hot(labels, self.num_classes, dtype=z.dtype)], axis=-1)
    h = nn.Dense(height // 4 * width // 4 * 2 * self.features, dtype=self.dtype, name="project")(z)
    h = nn.relu(h.reshape(z.shape[0], height // 4, width // 4, 2 * self.features))
    up = lambda features, name: Conv(features, (4, 4), padding=2, input_dilation=2, dtype=self.dtype,  # noqa: E731
                                     name=name)
    h = nn.relu(up(self.features, "up1")(h))
    return jax.nn.sigmoid(up(channels, "up2")(h).astype(jnp.float32))


class Discriminator(nn.Module):
  """image (and the label as channels) -> two 4x4 stride-2 convolutions with leaky ReLU (0.2) -> Dense to one
  logit."""

  features: int = 64
  num_classes: int = 10
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, images, labels):
    h = images if labels is None else jnp.concatenate([images, _labels_as(labels, self.num_classes, images)], -1)
    h = nn.leaky_relu(Conv(self.features, (4, 4), strides=2, padding=1, dtype=self.dtype, name="down1")(h), 0.2)
    h = nn.leaky_relu(Conv(2 * self.features, (4, 4), strides=2, padding=1, dtype=self.dtype, name="down2")(h), 0.2)
    return nn.Dense(1, dtype=self.dtype, name="logit")(h.reshape(h.shape[0], -1))[:, 0].astype(jnp.float32)


@models.register("dcgan")
class DCGAN(nn.Module):
  """`latent` noise dimensions; `features` of the first convolution (doubled in the second)."""

  latent: PositiveInt = 64
  features: PositiveInt = 64
  num_classes: PositiveInt = 10
  dtype: Any = jnp.float32

  def setup(self):
    self.generator = Generator(self.features, self.num_classes, self.dtype)
    self.discriminator = Discriminator(self.features, self.num_classes, self.dtype)

  def generate(self, z, labels, image_shape):
    return self.generator(z, labels, image_shape)

  def discriminate(self, images, labels):
    return self.discriminator(images, labels)

  def __call__(self, images, z, labels=None):
    return self.generate(z, labels, images.shape[1:]), self.discriminate(images, labels)
