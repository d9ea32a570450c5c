"""A recurrent language model: token embedding, stacked RNN/LSTM/GRU, a linear head over the vocabulary."""

from typing import Any, ClassVar

import flax.linen as nn
import jax.numpy as jnp

from jaxdl.args import PositiveInt, Probability
from jaxdl.nn.recurrent import StackedRNN
from jaxdl.registry import models


class RNNLanguageModel(nn.Module):
  """`__call__(tokens (B, T), carry=None) -> (next-token logits (B, T, V), carry after the last token)`.

  `carry` continues from an earlier window (truncated BPTT, sampling one token at a time); None starts
  from zeros.
  """

  num_classes: PositiveInt = 65  # the vocabulary size, from the data
  cell: str = "lstm"
  embed: PositiveInt = 64
  hidden: PositiveInt = 256
  num_layers: PositiveInt = 2
  dropout: Probability = 0.0  # on the embeddings, between layers and before the head
  unroll: PositiveInt = 1  # time steps per scan iteration (bench/lstm_throughput.py compares full unrolling)
  dtype: Any = jnp.float32

  # Recurrent gradients explode now and then (the notes' RNN chapter): the run clips them to this global norm
  # unless --clip_norm says otherwise.
  default_clip_norm: ClassVar[float] = 1.0
  recurrent: ClassVar[bool] = True  # the carry is a state that truncated BPTT carries across training windows

  @nn.nowrap
  def _rnn(self, **kwargs):
    return StackedRNN(self.cell, self.hidden, self.num_layers, dropout=self.dropout, dtype=self.dtype,
                      unroll=self.unroll, **kwargs)

  @nn.nowrap
  def initial_carry(self, batch_size: int, max_length: int | None = None):
    """Zeros: the carry before the first token (of any number: `max_length` bounds only a Transformer's cache)."""
    del max_length
    return self._rnn(parent=None).initial_carry((batch_size,))

  @nn.compact
  def __call__(self, tokens, carry=None, train: bool = False):
    x = nn.Embed(self.num_classes, self.embed, dtype=self.dtype)(tokens)
    x = nn.Dropout(self.dropout, deterministic=not train)(x)
    carry, x = self._rnn(name="rnn")(x, initial_carry=carry, train=train)
    x = nn.Dropout(self.dropout, deterministic=not train)(x)
    return nn.Dense(self.num_classes, dtype=self.dtype)(x).astype(jnp.float32), carry


models.register("rnn_lm", RNNLanguageModel)
