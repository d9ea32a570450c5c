"""The notes' losses in NumPy: softmax cross-entropy, multiclass SVM hinge, MSE, L1/L2 penalties."""

import numpy as np


def log_softmax(s):
  s = s - s.max(-1, keepdims=True)
  return s - np.log(np.exp(s).sum(-1, keepdims=True))


def cross_entropy(scores, labels, smoothing=0.0):
  """L_i = -sum_j t_j log softmax(s)_j with t = (1 - a) onehot(y) + a / C."""
  c = scores.shape[-1]
  targets = np.eye(c)[labels] * (1 - smoothing) + smoothing / c
  return -(targets * log_softmax(scores)).sum(-1)


def svm_hinge(scores, labels, margin=1.0):
  """L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + 1), written as the notes' explicit loop."""
  out = np.zeros(len(labels))
  for i, (s, y) in enumerate(zip(scores, labels)):
    out[i] = sum(max(0.0, s[j] - s[y] + margin) for j in range(len(s)) if j != y)
  return out


def mse(pred, target):
  return ((pred - target) ** 2).reshape(len(pred), -1).mean(-1)


def l1(weights):
  return sum(np.abs(w).sum() for w in weights)


def l2(weights):
  return sum((w ** 2).sum() for w in weights)
