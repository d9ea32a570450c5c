"""The perceptron family: a linear classifier and the multi-layer perceptron."""

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from jaxdl.args import PositiveInt, Probability
from jaxdl.nn import activations as _activations  # noqa: F401  (registers the activations)
from jaxdl.nn import init as _init  # noqa: F401  (registers the initializers)
from jaxdl.nn.activations import Maxout
from jaxdl.registry import activations, initializers, models


class LinearClassifier(nn.Module):
  """Scores s = W x + b on the flattened input (a softmax or SVM classifier, by the loss)."""

  num_classes: PositiveInt = 10
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = False):
    x = x.reshape(x.shape[0], -1)  # (B, H*W*C)
    return nn.Dense(self.num_classes, dtype=self.dtype)(x).astype(jnp.float32)


class MLP(nn.Module):
  """`depth` hidden layers of `width` units, each activation then dropout, then a linear head.

  `activation="maxout"` replaces each Dense + activation by a 2-piece maxout layer.
  """

  num_classes: PositiveInt = 10
  depth: PositiveInt = 2
  width: PositiveInt = 256
  activation: str = "relu"
  initializer: str = "he_normal"
  dropout: Probability = 0.0
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = False):
    kernel_init = initializers.get(self.initializer)
    x = x.reshape(x.shape[0], -1)  # (B, H*W*C)
    for _ in range(self.depth):
      if self.activation == "maxout":
        x = Maxout(self.width, kernel_init=kernel_init, dtype=self.dtype)(x)
      else:
        x = activations.get(self.activation)(nn.Dense(self.width, kernel_init=kernel_init, dtype=self.dtype)(x))
      x = nn.Dropout(self.dropout, deterministic=not train)(x)
    return nn.Dense(self.num_classes, kernel_init=kernel_init, dtype=self.dtype)(x).astype(jnp.float32)


models.register("linear", LinearClassifier)
models.register("mlp", MLP)
