"""What a denoiser is told besides the image: the noise step and, for class-conditional models, the label."""

import flax.linen as nn
import jax.numpy as jnp

from jaxdl.nn.positional import sinusoidal


class TimestepEmbedding(nn.Module):
  """The Transformer's sinusoidal encoding of the step t, then Linear -> SiLU -> Linear (Ho et al.'s U-Net, DiT)."""

  features: int
  frequencies: int = 0  # width of the sinusoidal code; 0: features
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, t):
    code = sinusoidal(t, self.frequencies or self.features).astype(self.dtype)
    hidden = nn.silu(nn.Dense(self.features, dtype=self.dtype, name="fc")(code))
    return nn.Dense(self.features, dtype=self.dtype, name="proj")(hidden)


class LabelEmbedding(nn.Module):
  """A learned vector per class plus one for "no label" (index `num_classes`), which classifier-free guidance
  trains by dropping labels and samples with as the unconditional model."""

  num_classes: int
  features: int
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, labels):
    return nn.Embed(self.num_classes + 1, self.features, embedding_init=nn.initializers.normal(0.02),
                    dtype=self.dtype, name="embedding")(labels)
