"""LeNet-5 (LeCun et al., 1998) and the notes' modern LeNet-style network."""

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from jaxdl.args import PositiveInt
from jaxdl.errors import InputShapeError
from jaxdl.nn import activations as _activations  # noqa: F401  (registers the activations)
from jaxdl.nn.layers import Conv
from jaxdl.registry import activations, models


class LeNet5(nn.Module):
  """C1 6@5x5 -> S2 -> C3 16@5x5 -> S4 -> F5 120 -> F6 84 -> 10 on 32x32 input (61,706 params at 1 channel).

  Full C3 connectivity and parameter-free subsampling; the paper's tanh and average pooling
  are the defaults (`activation=relu,pool=max` gives the common modern variant).
  """

  num_classes: PositiveInt = 10
  activation: str = "tanh"
  pool: str = "avg"
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = False):
    if x.shape[-3:-1] != (32, 32):
      raise InputShapeError(f"LeNet5 takes 32x32 images, got {x.shape[-3]}x{x.shape[-2]} "
                            "(pad 28x28 digits to 32x32, e.g. --data_args=pad_to=32)")
    act = activations.get(self.activation)
    pool = {"avg": nn.avg_pool, "max": nn.max_pool}[self.pool]
    x = act(Conv(6, (5, 5), padding="VALID", dtype=self.dtype)(x))       # (B, 28, 28, 6)
    x = pool(x, (2, 2), strides=(2, 2))                                   # (B, 14, 14, 6)
    x = act(Conv(16, (5, 5), padding="VALID", dtype=self.dtype)(x))      # (B, 10, 10, 16)
    x = pool(x, (2, 2), strides=(2, 2))                                   # (B, 5, 5, 16)
    x = x.reshape(x.shape[0], -1)                                         # (B, 400)
    x = act(nn.Dense(120, dtype=self.dtype)(x))
    x = act(nn.Dense(84, dtype=self.dtype)(x))
    return nn.Dense(self.num_classes, dtype=self.dtype)(x).astype(jnp.float32)


class LeNetModern(nn.Module):
  """The notes' table network on 28x28: conv 20@5x5 pad 2, pool, conv 50@5x5 pad 2, pool, fc 500, fc 10.

  1,256,080 parameters at 1 channel and 28x28 (the notes title the table "AlexNet", but it is
  the LeNet-style network of the CNN lecture).
  """

  num_classes: PositiveInt = 10
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = False):
    x = nn.relu(Conv(20, (5, 5), padding=2, dtype=self.dtype)(x))     # (B, H, W, 20)
    x = nn.max_pool(x, (2, 2), strides=(2, 2))                         # (B, H/2, W/2, 20)
    x = nn.relu(Conv(50, (5, 5), padding=2, dtype=self.dtype)(x))     # (B, H/2, W/2, 50)
    x = nn.max_pool(x, (2, 2), strides=(2, 2))                         # (B, H/4, W/4, 50)
    x = x.reshape(x.shape[0], -1)                                      # (B, 2450) at 28x28
    x = nn.relu(nn.Dense(500, dtype=self.dtype)(x))
    return nn.Dense(self.num_classes, dtype=self.dtype)(x).astype(jnp.float32)


models.register("lenet5", LeNet5)
models.register("lenet_modern", LeNetModern)
