"""The recurrent cells step by step against the notes' equations in NumPy; stacks, both directions, and
padding that never changes a result."""

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl.nn import recurrent
from tests.reference import recurrent as ref

B, T, F, H = 3, 6, 5, 4


def _xs(seed=0, shape=(B, T, F)):
  return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def _np(tree):
  return jax.tree.map(lambda a: np.asarray(a, np.float64), tree)


def _scan_cell(cell, xs):
  """The cell over time through flax.linen.RNN (one nn.scan), with every step's output."""
  rnn = nn.RNN(cell, return_carry=True)
  variables = rnn.init(jax.random.PRNGKey(1), xs)
  variables = jax.tree.map(lambda p: p + 0.3 * np.random.default_rng(2).normal(size=p.shape), variables)  # biases != 0
  carry, ys = jax.jit(rnn.apply)(variables, xs)
  return _np(variables["params"]["cell"]), carry, ys


def test_flax_simple_cell_is_the_notes_elman_rnn():
  xs = _xs()
  p, carry, ys = _scan_cell(recurrent.ElmanCell(H), xs)
  want = ref.run(lambda x, h: ref.elman(x, h, p["i"]["kernel"], p["h"]["kernel"], p["i"]["bias"]), xs,
                 np.zeros((B, H)))
  np.testing.assert_allclose(ys, np.stack(want, 1), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(carry, want[-1], rtol=1e-5, atol=1e-6)


def test_flax_lstm_cell_is_the_notes_lstm():
  xs = _xs()
  p, (c, h), ys = _scan_cell(recurrent.LSTMCell(H), xs)
  W = {g: (p[f"i{k}"]["kernel"], p[f"h{k}"]["kernel"], p[f"h{k}"]["bias"]) for g, k in
       (("i", "i"), ("f", "f"), ("o", "o"), ("c", "g"))}
  want = ref.run(lambda x, ch: ref.lstm(x, *ch, W), xs, (np.zeros((B, H)), np.zeros((B, H))))
  np.testing.assert_allclose(ys, np.stack([h_t for _, h_t in want], 1), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(c, want[-1][0], rtol=1e-5, atol=1e-6)


def _notes_gru_weights(p):
  kx, bx = np.split(p["input"]["kernel"], 3, -1), np.split(p["input"]["bias"], 3, -1)
  kh = np.split(p["recurrent_gates"]["kernel"], 2, -1) + [p["recurrent_candidate"]["kernel"]]
  return {g: (kx[i], kh[i], bx[i]) for i, g in enumerate("zrh")}


def test_gru_cell_is_the_notes_gru_and_flax_places_the_reset_gate_elsewhere():
  xs = _xs()
  p, carry, ys = _scan_cell(recurrent.GRUCell(H), xs)
  W = _notes_gru_weights(p)
  want = ref.run(lambda x, h: ref.gru(x, h, W), xs, np.zeros((B, H)))
  np.testing.assert_allclose(ys, np.stack(want, 1), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(carry, want[-1], rtol=1e-5, atol=1e-6)
  # flax's GRUCell with the same weights computes r * (W_h h) instead of W_h (r * h): a different function.
  flax_params = {"ir": {"kernel": W["r"][0], "bias": W["r"][2]}, "iz": {"kernel": W["z"][0], "bias": W["z"][2]},
                 "in": {"kernel": W["h"][0], "bias": W["h"][2]}, "hr": {"kernel": W["r"][1]},
                 "hz": {"kernel": W["z"][1]}, "hn": {"kernel": W["h"][1], "bias": np.zeros(H)}}
  flax_ys = nn.RNN(nn.GRUCell(H)).apply({"params": {"cell": jax.tree.map(jnp.float32, flax_params)}}, xs)
  assert np.abs(np.asarray(flax_ys) - np.stack(want, 1)).max() > 1e-3


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_padding_never_changes_a_result(cell):
  """Sequences of lengths 6, 2 and 4, padded with different noise to 9 and to 11 steps: every output at a real
  position and each direction's final carry are the same, and equal those of the longest run unpadded."""
  model = recurrent.StackedRNN(cell, H, num_layers=2, bidirectional=True)
  lengths = jnp.asarray([6, 2, 4])
  short, long = _xs(3, (3, 9, F)), _xs(4, (3, 11, F))
  long[:, :6] = short[:, :6]
  for b, n in enumerate(lengths.tolist()):
    short[b, n:], long[b, n:] = 100.0, -100.0  # padding that would show if it leaked
  variables = model.init(jax.random.PRNGKey(0), short)
  apply = jax.jit(model.apply)
  (carries, ys), (long_carries, long_ys) = apply(variables, short, lengths), apply(variables, long, lengths)
  alone_carries, alone = apply(variables, short[:1, :6])
  chex.assert_trees_all_close(carries, long_carries, rtol=1e-5, atol=1e-6)
  chex.assert_trees_all_close(jax.tree.map(lambda a: a[:1], carries), alone_carries, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(ys[0, :6], alone[0], rtol=1e-5, atol=1e-6)
  for b, n in enumerate(lengths.tolist()):
    np.testing.assert_allclose(ys[b, :n], long_ys[b, :n], rtol=1e-5, atol=1e-6)


def test_stack_feeds_each_layer_the_one_below_and_continues_from_a_carry():
  """Two windows, the second started from the first's carries, equal one pass over both."""
  model = recurrent.StackedRNN("lstm", H, num_layers=2)
  xs = _xs(4, (B, 8, F))
  variables = model.init(jax.random.PRNGKey(0), xs)
  carries, ys = model.apply(variables, xs)
  first_carries, first = model.apply(variables, xs[:, :5])
  last_carries, last = model.apply(variables, xs[:, 5:], initial_carry=first_carries)
  np.testing.assert_allclose(np.concatenate([first, last], 1), ys, rtol=1e-5, atol=1e-6)
  chex.assert_trees_all_close(last_carries, carries, rtol=1e-5, atol=1e-6)
  chex.assert_trees_all_equal_shapes(model.initial_carry((B,)), carries)


def test_unknown_cell_is_a_usage_error():
  with pytest.raises(Exception, match="choose one of: rnn, lstm, gru"):
    recurrent.StackedRNN("transformer", H).init(jax.random.PRNGKey(0), _xs())
