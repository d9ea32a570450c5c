"""Backpropagation by hand, with the notes' rules: add distributes the gradient, multiply swaps the inputs, a
copy adds the gradients of its uses, max routes it to the winner; for y = x W: dL/dx = dL/dy W^T and
dL/dW = x^T dL/dy; sigma' = sigma (1 - sigma); a convolution's gradients are correlations with the output's."""

import numpy as np


def sigmoid(z):
  return 1 / (1 + np.exp(-z))


def mlp_forward(x, w1, b1, w2, b2):
  h = sigmoid(x @ w1 + b1)
  return h, h @ w2 + b2


def mlp_backward(x, w1, b1, w2, b2, targets):
  """Gradients of L = 0.5 sum (s - t)^2 for s = sigmoid(x W1 + b1) W2 + b2, layer by layer backwards."""
  h, s = mlp_forward(x, w1, b1, w2, b2)
  ds = s - targets                 # d(0.5 (s - t)^2) / ds
  dw2, db2 = h.T @ ds, ds.sum(0)   # y = h W2 + b2: dW = h^T dy; the bias is copied to every row: its uses add
  dh = ds @ w2.T                   # dL/dh = dL/ds W2^T
  dz = dh * h * (1 - h)            # sigma' = sigma (1 - sigma)
  return {"x": dz @ w1.T, "w1": x.T @ dz, "b1": dz.sum(0), "w2": dw2, "b2": db2}


def correlate(x, w):
  """A 'valid' conv layer as deep learning computes it (no kernel flip): x (H, W, Cin), w (kh, kw, Cin, Cout)."""
  kh, kw = w.shape[:2]
  out = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kw + 1, w.shape[3]))
  for i in range(out.shape[0]):
    for j in range(out.shape[1]):
      out[i, j] = np.tensordot(x[i:i + kh, j:j + kw], w, axes=3)
  return out


def conv_backward(x, w, dy):
  """dL/dW: the input correlated with the output's gradient; dL/dx: the output's gradient, zero-padded by the
  kernel's size less one, correlated with the kernel turned 180 degrees (its channels swapped)."""
  kh, kw = w.shape[:2]
  dw = np.zeros_like(w)
  for a in range(kh):
    for b in range(kw):
      dw[a, b] = np.tensordot(x[a:a + dy.shape[0], b:b + dy.shape[1]], dy, axes=([0, 1], [0, 1]))
  padded = np.pad(dy, ((kh - 1, kh - 1), (kw - 1, kw - 1), (0, 0)))
  dx = correlate(padded, np.transpose(w[::-1, ::-1], (0, 1, 3, 2)))
  return dx, dw


def max_pool_backward(x, dy, size: int = 2):
  """Each window's gradient goes to its maximum, nothing to the rest (the max routes)."""
  dx = np.zeros_like(x)
  for i in range(dy.shape[0]):
    for j in range(dy.shape[1]):
      for c in range(x.shape[2]):
        window = x[i * size:(i + 1) * size, j * size:(j + 1) * size, c]
        a, b = np.unravel_index(np.argmax(window), window.shape)
        dx[i * size + a, j * size + b, c] += dy[i, j, c]
  return dx
