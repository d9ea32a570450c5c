"""GoogLeNet / Inception v1 (Szegedy et al., 2014) with a BatchNorm after every conv, as torchvision builds it.

Like torchvision, the "5x5" branch uses a 3x3 kernel, so parameter counts match its weights:
6,624,904 without and 13,004,888 with the two auxiliary classifiers (1,000 classes).
"""

import functools
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from jaxdl.args import PositiveInt, Probability
from jaxdl.nn.layers import ConvNormAct, Stem
from jaxdl.nn.pool import adaptive_avg_pool, global_avg_pool
from jaxdl.registry import models

# (1x1, 3x3 reduce, 3x3, "5x5" reduce, "5x5", pool proj) per inception module
INCEPTION = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64), "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64), "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128),
}


class Inception(nn.Module):
  """Four parallel branches concatenated on channels; 1x1 convs bottleneck the expensive ones."""

  widths: tuple[int, ...]
  conv: Any = ConvNormAct

  @nn.compact
  def __call__(self, x, train: bool = False):
    b1, r3, b3, r5, b5, pp = self.widths
    branch1 = self.conv(b1, 1)(x, train)
    branch2 = self.conv(b3, 3)(self.conv(r3, 1)(x, train), train)
    branch3 = self.conv(b5, 3)(self.conv(r5, 1)(x, train), train)
    branch4 = self.conv(pp, 1)(nn.max_pool(x, (3, 3), strides=(1, 1), padding="SAME"), train)
    return jnp.concatenate([branch1, branch2, branch3, branch4], axis=-1)


class AuxHead(nn.Module):
  """The auxiliary classifier: 4x4 average pool, 1x1 conv 128, FC 1024, dropout 0.7, FC."""

  num_classes: int
  conv: Any = ConvNormAct
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = False):
    x = self.conv(128, 1)(adaptive_avg_pool(x, (4, 4)), train).reshape(x.shape[0], -1)  # (B, 2048)
    x = nn.relu(nn.Dense(1024, dtype=self.dtype)(x))
    x = nn.Dropout(0.7, deterministic=not train)(x)
    return nn.Dense(self.num_classes, dtype=self.dtype)(x).astype(jnp.float32)


class GoogLeNet(nn.Module):
  """In training with `aux_logits`, returns (logits, [aux1, aux2]); the task weights the aux losses (0.3)."""

  num_classes: PositiveInt = 1000
  aux_logits: bool = True
  dropout: Probability = 0.2
  stem: Stem = "imagenet"
  norm_axis_name: str | None = None
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = False):
    conv = functools.partial(ConvNormAct, norm_eps=1e-3, norm_axis_name=self.norm_axis_name, dtype=self.dtype)
    pool = functools.partial(nn.max_pool, window_shape=(3, 3), strides=(2, 2), padding="SAME")
    if self.stem == "small":  # 32x32: one 3x3 conv, no early pooling
      x = conv(192, 3)(x, train)
    else:
      x = pool(conv(64, 7, 2, 3)(x, train))                          # (B, 56, 56, 64) at 224
      x = pool(conv(192, 3)(conv(64, 1)(x, train), train))           # (B, 28, 28, 192)
    aux = []
    for name, widths in INCEPTION.items():
      if name in ("4a", "5a"):
        x = pool(x) if name == "4a" else nn.max_pool(x, (2, 2), strides=(2, 2), padding="SAME")
      x = Inception(widths, conv, name=f"inception_{name}")(x, train)
      if self.aux_logits and name in ("4a", "4d") and (train or self.is_initializing()):
        aux.append(AuxHead(self.num_classes, conv, self.dtype, name=f"aux_{name}")(x, train))
    x = nn.Dropout(self.dropout, deterministic=not train)(global_avg_pool(x))  # (B, 1024)
    logits = nn.Dense(self.num_classes, dtype=self.dtype)(x).astype(jnp.float32)
    return (logits, aux) if train and aux else logits


models.register("googlenet", GoogLeNet)
