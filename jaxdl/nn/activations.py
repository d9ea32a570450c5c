"""The notes' activation functions by name, plus maxout (a layer, since it has weights)."""

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxdl.registry import activations

activations.register("sigmoid", jax.nn.sigmoid)
activations.register("tanh", jnp.tanh)
activations.register("relu", jax.nn.relu)
activations.register("leaky_relu", jax.nn.leaky_relu)  # slope 0.01 for x < 0
activations.register("elu", jax.nn.elu)
activations.register("gelu", functools.partial(jax.nn.gelu, approximate=False))  # x * Phi(x)
activations.register("gelu_tanh", functools.partial(jax.nn.gelu, approximate=True))
activations.register("abs", jnp.abs)
activations.register("identity", lambda x: x)


class Maxout(nn.Module):
  """Maxout (Goodfellow et al., 2013): the max over `pieces` affine maps, `features` outputs."""

  features: int
  pieces: int = 2
  kernel_init: nn.initializers.Initializer = nn.linear.default_kernel_init
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    y = nn.Dense(self.features * self.pieces, kernel_init=self.kernel_init, dtype=self.dtype)(x)
    y = y.reshape(*y.shape[:-1], self.features, self.pieces)  # (..., features, pieces)
    return y.max(axis=-1)
