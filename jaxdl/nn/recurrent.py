"""The notes' recurrent cells (Elman RNN, LSTM, GRU) and the layers around them: stacks, both directions,
variable lengths. Every recurrence is one `nn.scan` (through `flax.linen.RNN`), never a Python loop over time.

flax's `SimpleCell` and `OptimizedLSTMCell` compute the notes' Elman and LSTM equations and are used as they
are; flax's `GRUCell` applies the reset gate after the recurrent matrix product (r * (W_h h + b), as cuDNN
does), the notes before it (W_h (r * h)), so `GRUCell` here is the notes' (tests/nn/test_recurrent.py pins
all three against tests/reference/recurrent.py).
"""

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxdl.errors import UsageError

ElmanCell = nn.SimpleCell  # h_t = tanh(W_hx x_t + W_hh h_{t-1} + b)
LSTMCell = nn.OptimizedLSTMCell  # carry (c, h); the four gates' matrix products fused into one


class GRUCell(nn.RNNCellBase):
  """z = s(W_zx x + W_zh h + b_z); r = s(W_rx x + W_rh h + b_r); h~ = tanh(W_hx x + W_h (r * h) + b_h);
  h' = (1 - z) * h~ + z * h. The input side's three products are fused into one."""

  features: int
  dtype: Any = None
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, carry, inputs):
    h = carry
    dense = lambda features, name, use_bias, init: nn.Dense(  # noqa: E731
        features, use_bias=use_bias, kernel_init=init, dtype=self.dtype, param_dtype=self.param_dtype, name=name)
    x_zrh = dense(3 * self.features, "input", True, nn.initializers.lecun_normal())(inputs)
    x_z, x_r, x_h = jnp.split(x_zrh, 3, axis=-1)
    h_zr = dense(2 * self.features, "recurrent_gates", False, nn.initializers.orthogonal())(h)
    h_z, h_r = jnp.split(h_zr, 2, axis=-1)
    z, r = jax.nn.sigmoid(x_z + h_z), jax.nn.sigmoid(x_r + h_r)
    candidate = jnp.tanh(x_h + dense(self.features, "recurrent_candidate", False, nn.initializers.orthogonal())(r * h))
    new_h = (1.0 - z) * candidate + z * h
    return new_h, new_h

  @nn.nowrap
  def initialize_carry(self, rng, input_shape):
    del rng
    return jnp.zeros((*input_shape[:-1], self.features), self.param_dtype)

  @property
  def num_feature_axes(self) -> int:
    return 1


CELLS = {"rnn": ElmanCell, "lstm": LSTMCell, "gru": GRUCell}


def cell_class(name: str):
  if name not in CELLS:
    raise UsageError(f"cell={name!r}; choose one of: {', '.join(CELLS)}")
  return CELLS[name]


class StackedRNN(nn.Module):
  """`num_layers` recurrent layers of `cell` (optionally bidirectional, outputs concatenated), dropout between
  layers in training. `__call__(x (B, T, F), seq_lengths=None, initial_carry=None)` returns (the final carry
  of every layer, the top layer's outputs (B, T, hidden or 2 * hidden)).

  With `seq_lengths`, each sequence's carry is its last real step's and outputs at real positions never see
  the padding (the backward direction starts at each sequence's own end). `initial_carry` (a list, one per
  layer, as returned) continues a sequence from a previous window: truncated BPTT.
  """

  cell: str = "lstm"
  hidden: int = 256
  num_layers: int = 1
  bidirectional: bool = False
  dropout: float = 0.0
  dtype: Any = None
  unroll: int = 1  # time steps per scan iteration; the sequence length unrolls fully, as a Python loop would

  @nn.nowrap
  def initial_carry(self, batch_shape: tuple[int, ...]) -> list:
    """Zeros for every layer (and direction), for a batch of `batch_shape`."""
    one = lambda: cell_class(self.cell)(self.hidden, parent=None).initialize_carry(  # noqa: E731
        jax.random.PRNGKey(0), (*batch_shape, 1))
    return [(one(), one()) if self.bidirectional else one() for _ in range(self.num_layers)]

  @nn.compact
  def __call__(self, x, seq_lengths=None, initial_carry=None, train: bool = False):
    cls = cell_class(self.cell)
    carries = []
    for layer in range(self.num_layers):
      if layer and self.dropout:
        x = nn.Dropout(self.dropout, deterministic=not train)(x)
      make = lambda name: nn.RNN(cls(self.hidden, dtype=self.dtype, name=name), unroll=self.unroll)  # noqa: E731
      rnn = nn.Bidirectional(make(f"forward_{layer}"), make(f"backward_{layer}")) if self.bidirectional \
          else make(f"layer_{layer}")
      carry, x = rnn(x, seq_lengths=seq_lengths, return_carry=True,
                     initial_carry=None if initial_carry is None else initial_carry[layer])
      carries.append(carry)
    return carries, x
