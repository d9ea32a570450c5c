"""The notes' recurrent equations (RNN chapter, 4.1-4.3) in NumPy, one gate per line, one time step per call.

Weights are named as in the notes: W_ix multiplies x, W_ih multiplies h, w_bi is the bias of gate i.
"""

import numpy as np


def sigmoid(a):
  return 1 / (1 + np.exp(-a))


def elman(x, h, W_hx, W_hh, w_hb):
  """h_t = tanh(W_hx x_t + W_hh h_{t-1} + w_hb) (row vectors: x @ W)."""
  return np.tanh(x @ W_hx + h @ W_hh + w_hb)


def lstm(x, c, h, W):
  """Returns (c_t, h_t); W[g] = (W_gx, W_gh, w_bg) for the gates i, f, o and the new memory c~."""
  gate = lambda g, f: f(x @ W[g][0] + h @ W[g][1] + W[g][2])  # noqa: E731
  i, f, o, c_new = gate("i", sigmoid), gate("f", sigmoid), gate("o", sigmoid), gate("c", np.tanh)
  c = f * c + i * c_new
  return c, o * np.tanh(c)


def gru(x, h, W):
  """W[g] = (W_gx, W_gh, w_bg) for the update gate z, the reset gate r and the new memory h~, whose recurrent
  matrix multiplies r * h."""
  z = sigmoid(x @ W["z"][0] + h @ W["z"][1] + W["z"][2])
  r = sigmoid(x @ W["r"][0] + h @ W["r"][1] + W["r"][2])
  h_new = np.tanh(x @ W["h"][0] + (r * h) @ W["h"][1] + W["h"][2])
  return (1 - z) * h_new + z * h


def run(step, xs, carry):
  """Applies `step(x_t, carry) -> carry` over xs (B, T, F); returns the carries after each step."""
  out = []
  for t in range(xs.shape[1]):
    carry = step(xs[:, t], carry)
    out.append(carry)
  return out
