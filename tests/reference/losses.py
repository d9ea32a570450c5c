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


def gaussian_kl(mean, log_variance):
  """KL(N(mu, sigma^2) || N(0, 1)) summed over dimensions, term by term: log(1 / sigma) + (sigma^2 + mu^2) / 2
  - 1/2 (the KL of two univariate Gaussians with the second standard)."""
  sigma = np.exp(0.5 * log_variance)
  return (np.log(1 / sigma) + (sigma ** 2 + mean ** 2) / 2 - 0.5).sum(-1)


def sparsity_kl(activations, rho):
  """sum_j rho log(rho / rho_hat_j) + (1 - rho) log((1 - rho) / (1 - rho_hat_j)), rho_hat_j the mean of unit j."""
  total = 0.0
  for rate in activations.mean(0):
    total += rho * np.log(rho / rate) + (1 - rho) * np.log((1 - rho) / (1 - rate))
  return total
