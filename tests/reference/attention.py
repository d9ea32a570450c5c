"""NumPy attention, straight from the notes: softmax(Q K^T / sqrt(d)) V per head, masked keys removed."""

import numpy as np


def attention(q, k, v, mask=None):
  """q (B, T, N, H), k/v (B, S, K, H) (each group of N / K query heads shares a key/value head); mask broadcastable
  to (B, N, T, S), True = visible. Returns (output (B, T, N, H), weights (B, N, T, S)); a row with no visible key
  has zero weights and output."""
  groups = q.shape[2] // k.shape[2]
  k, v = np.repeat(k, groups, axis=2), np.repeat(v, groups, axis=2)
  b, t, n, h = q.shape
  weights = np.zeros((b, n, t, k.shape[1]))
  full = np.ones((b, n, t, k.shape[1]), bool) if mask is None else np.broadcast_to(mask, weights.shape)
  for i in range(b):
    for j in range(n):
      scores = q[i, :, j] @ k[i, :, j].T / np.sqrt(h)
      for r in range(t):
        visible = full[i, j, r]
        if visible.any():
          e = np.exp(scores[r, visible] - scores[r, visible].max())
          weights[i, j, r, visible] = e / e.sum()
  return np.einsum("bnts,bsnh->btnh", weights, v), weights


def sinusoidal(positions, dim):
  """PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(pos / 10000^(2i/d)), one position at a time."""
  out = np.zeros((len(positions), dim))
  for p, pos in enumerate(positions):
    for i in range(0, dim, 2):
      out[p, i] = np.sin(pos / 10000 ** (i / dim))
      if i + 1 < dim:
        out[p, i + 1] = np.cos(pos / 10000 ** (i / dim))
  return out


def attention_rollout(layers):
  """Abnar & Zuidema's rollout, one example at a time: R = prod_l normalize(mean_heads(A_l) + I), last layer
  on the left."""
  out = []
  for b in range(layers[0].shape[0]):
    r = np.eye(layers[0].shape[-1])
    for weights in layers:
      a = weights[b].mean(axis=0) + np.eye(weights.shape[-1])
      r = (a / a.sum(axis=1, keepdims=True)) @ r
    out.append(r)
  return np.stack(out)
