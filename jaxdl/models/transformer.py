"""The encoder-decoder Transformer (Vaswani et al. 2017) for sequence to sequence (`--task=translate`): sinusoidal
positions, a shared embedding tied to the output layer, an encoder stack over the source (padding masked) and a
decoder stack with causal self-attention and cross-attention over the encodings.

Teacher-forced training runs the decoder over the whole target at once; decoding (`encode`, `decode_step`)
feeds one token at a time through a KV cache, which is also how a `teacher` mask (scheduled sampling) runs.
"""

from typing import Any, ClassVar

import flax.linen as nn
import jax.numpy as jnp

from jaxdl.args import PositiveInt
from jaxdl.nn.attention import padding_mask
from jaxdl.nn.positional import sinusoidal
from jaxdl.models.seq2seq import scan_steps
from jaxdl.nn.transformer import PARTITION_RULES, RematPolicy, Stack, empty_cache
from jaxdl.registry import models


class Transformer(nn.Module):
  """`__call__(source, source_length, decoder_inputs, teacher=None)` -> (logits (B, T, V), None: the attention
  is spread over heads and layers, so no one map is returned); `encode` and `decode_step` drive decoding."""

  num_classes: PositiveInt = 13  # the vocabulary, from the data
  num_layers: PositiveInt = 2  # in the encoder and in the decoder
  num_heads: PositiveInt = 4
  width: PositiveInt = 128
  max_length: PositiveInt = 64  # the longest target a decoding cache holds
  pre_norm: bool = True
  scan: bool = False  # True: one compiled layer body for all layers (compiles faster, steps slower: Stack)
  remat: RematPolicy = "none"
  dtype: Any = jnp.float32

  input_keys: ClassVar[tuple[str, ...]] = ("source", "source_length")
  partition_rules: ClassVar[tuple] = PARTITION_RULES  # heads and MLP units over --mesh's tensor axis

  def setup(self):
    self.embed = nn.Embed(self.num_classes, self.width, embedding_init=nn.initializers.normal(0.02),
                          dtype=self.dtype)
    block = dict(num_heads=self.num_heads, pre_norm=self.pre_norm, dtype=self.dtype)
    self.encoder = Stack(self.num_layers, block, scan=self.scan, remat=self.remat)
    self.decoder = Stack(self.num_layers, {**block, "cross": True}, scan=self.scan, remat=self.remat)
    # Pre-LN stacks end un-normalized: one LayerNorm after each (as GPT-2 and ViT do).
    self.encoder_norm = nn.LayerNorm(dtype=self.dtype) if self.pre_norm else None
    self.decoder_norm = nn.LayerNorm(dtype=self.dtype) if self.pre_norm else None

  def _embed(self, tokens, positions):
    return self.embed(tokens) * jnp.sqrt(self.width).astype(self.dtype) + sinusoidal(positions, self.width)

  def encode(self, source, source_length) -> dict:
    """The decoder's initial state: the encodings, their padding mask and an empty KV cache."""
    mask = padding_mask(source_length, source.shape[1])
    x, _ = self.encoder(self._embed(source, jnp.arange(source.shape[1])), mask=mask)
    memory = self.encoder_norm(x) if self.pre_norm else x
    cache = empty_cache(source.shape[0], self.num_layers, self.max_length, self.num_heads,
                        self.width // self.num_heads, self.dtype)
    return {"memory": memory, "memory_mask": mask, "cache": cache}

  def _head(self, x):
    return self.embed.attend(self.decoder_norm(x) if self.pre_norm else x).astype(jnp.float32)

  def decode_step(self, state: dict, token):
    """(next-token logits (B, V), None, state) after feeding `token` (B,)."""
    positions = state["cache"]["index"][:, None]
    x, cache = self.decoder(self._embed(token[:, None], positions), memory=state["memory"],
                            memory_mask=state["memory_mask"], cache=state["cache"])
    return self._head(x)[:, 0], None, {**state, "cache": cache}

  def __call__(self, source, source_length, decoder_inputs, teacher=None):
    if decoder_inputs.shape[1] >= self.max_length:
      raise ValueError(f"targets of {decoder_inputs.shape[1]} tokens need max_length > {decoder_inputs.shape[1]} "
                       f"(--model_args max_length={self.max_length}): the decoding cache would overflow")
    state = self.encode(source, source_length)
    if teacher is None:  # every input given: the whole target in one causal pass
      x, _ = self.decoder(self._embed(decoder_inputs, jnp.arange(decoder_inputs.shape[1])),
                          memory=state["memory"], memory_mask=state["memory_mask"], is_causal=True)
      return self._head(x), None
    return scan_steps(self, "decode_step", state, decoder_inputs, teacher, self.num_classes)


models.register("transformer", Transformer)
