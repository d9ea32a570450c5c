"""The notes' optimizer update rules in NumPy, one step at a time: `state, w = step(state, w, g)`.

Adam follows Kingma & Ba (2015): the notes write `m <- b1 m - (1 - b1) grad`, a sign typo
against their own `w <- w - lr m` update; the paper's `m <- b1 m + (1 - b1) grad` is used.
Nesterov is the gradient-at-current-point form of Sutskever et al. (2013) that optax and
PyTorch implement: v <- mu v + g; w <- w - lr (g + mu v).
"""

import numpy as np


def sgd(lr):
  def step(state, w, g):
    return state, w - lr * g
  return step, None


def momentum(lr, mu=0.9):
  """The notes: m <- mu m - lr g; w <- w + m."""
  def step(m, w, g):
    m = mu * m - lr * g
    return m, w + m
  return step, 0.0


def nesterov(lr, mu=0.9):
  def step(v, w, g):
    v = mu * v + g
    return v, w - lr * (g + mu * v)
  return step, 0.0


def adagrad(lr, eps=1e-8):
  """The notes: v <- v + g^2; w <- w - lr / (sqrt(v) + eps) g, v starting at 0."""
  def step(v, w, g):
    v = v + g * g
    return v, w - lr / (np.sqrt(v) + eps) * g
  return step, 0.0


def rmsprop(lr, beta=0.9, eps=1e-8):
  """The notes: v <- beta v + (1 - beta) g^2; w <- w - lr / (sqrt(v) + eps) g."""
  def step(v, w, g):
    v = beta * v + (1 - beta) * g * g
    return v, w - lr / (np.sqrt(v) + eps) * g
  return step, 0.0


def adam(lr, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0):
  """Bias-corrected Adam; with weight_decay, AdamW's decoupled w <- w - lr wd w."""
  def step(state, w, g):
    m, v, t = state
    t += 1
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
    return (m, v, t), w - lr * (m_hat / (np.sqrt(v_hat) + eps) + weight_decay * w)
  return step, (0.0, 0.0, 0)


RULES = {"sgd": sgd, "momentum": momentum, "nesterov": nesterov, "adagrad": adagrad, "rmsprop": rmsprop,
         "adam": adam, "adamw": lambda lr: adam(lr, weight_decay=0.01)}
