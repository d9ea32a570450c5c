"""The notes' activations and their analytic derivatives, in NumPy (float64)."""

import math

import numpy as np

_erf = np.vectorize(math.erf)


def sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


FUNCTIONS = {
    "sigmoid": (sigmoid, lambda x: sigmoid(x) * (1 - sigmoid(x))),
    "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2),
    "relu": (lambda x: np.maximum(x, 0), lambda x: (x > 0).astype(float)),
    "leaky_relu": (lambda x: np.where(x > 0, x, 0.01 * x), lambda x: np.where(x > 0, 1.0, 0.01)),
    "elu": (lambda x: np.where(x > 0, x, np.exp(x) - 1), lambda x: np.where(x > 0, 1.0, np.exp(x))),
    # GELU(x) = x Phi(x); d/dx = Phi(x) + x phi(x)  (Hendrycks & Gimpel, 2016)
    "gelu": (lambda x: x * 0.5 * (1 + _erf(x / np.sqrt(2))),
             lambda x: 0.5 * (1 + _erf(x / np.sqrt(2))) + x * np.exp(-x * x / 2) / np.sqrt(2 * np.pi)),
    "abs": (np.abs, np.sign),
}


def gelu_tanh(x):
  """0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
  return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def gelu_tanh_grad(x):
  u = np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)
  du = np.sqrt(2 / np.pi) * (1 + 3 * 0.044715 * x ** 2)
  return 0.5 * (1 + np.tanh(u)) + 0.5 * x * (1 - np.tanh(u) ** 2) * du


FUNCTIONS["gelu_tanh"] = (gelu_tanh, gelu_tanh_grad)


def maxout(x, kernel, bias, pieces):
  """max_k (x W_k + b_k) with the k pieces interleaved last, as jaxdl's Maxout lays them out."""
  y = x @ kernel + bias                        # (B, features * pieces)
  return y.reshape(*y.shape[:-1], -1, pieces).max(-1)
