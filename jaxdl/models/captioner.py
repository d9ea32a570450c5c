"""Image captioning (Show, Attend and Tell; Xu et al. 2015): a small CNN turns the image into a grid of
features, and the seq2seq `AttentionDecoder` writes the caption while attending over the grid. The notes:
"set image as initial hidden state h_0" (here a projection of the mean feature), beam search at test time."""

from typing import ClassVar

import flax.linen as nn
import jax.numpy as jnp

from jaxdl.args import PositiveInt
from jaxdl.models.seq2seq import AttentionDecoder
from jaxdl.nn.layers import conv
from jaxdl.registry import models


class Captioner(nn.Module):
  """`__call__(image, decoder_inputs, teacher=None)` -> (logits (B, T, V), attention over the grid (B, T, cells))."""

  num_classes: PositiveInt = 17  # the vocabulary, from the data
  width: PositiveInt = 32  # channels of the first conv; doubled by the second and third
  embed: PositiveInt = 32
  hidden: PositiveInt = 128
  attention: str = "additive"

  input_keys: ClassVar[tuple[str, ...]] = ("image",)

  def setup(self):
    self.convs = [conv(self.width * 2 ** i, 3, strides=1 if i == 0 else 2, use_bias=True) for i in range(3)]
    self.init_c, self.init_h = nn.Dense(self.hidden), nn.Dense(self.hidden)
    self.decoder = AttentionDecoder(self.num_classes, self.embed, self.hidden, self.attention)

  def encode(self, image) -> dict:
    """The decoder's initial state: carry from the mean feature, the grid as memory (every cell visible)."""
    x = image
    for layer in self.convs:
      x = nn.relu(layer(x))
    memory = x.reshape(x.shape[0], -1, x.shape[-1])  # (B, cells, channels)
    mean = memory.mean(axis=1)
    return {"carry": (jnp.tanh(self.init_c(mean)), jnp.tanh(self.init_h(mean))), "context": jnp.zeros_like(mean),
            "memory": memory, "mask": jnp.ones(memory.shape[:2], bool)}

  def decode_step(self, state: dict, token):
    return self.decoder.step(state, token)

  def __call__(self, image, decoder_inputs, teacher=None):
    return self.decoder(self.encode(image), decoder_inputs, teacher)


models.register("captioner", Captioner)
