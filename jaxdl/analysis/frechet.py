"""The Fréchet distance between two sets of feature vectors (Heusel et al.'s FID when the features are
Inception's): how generated images are scored against real ones in a trained classifier's feature space."""

import numpy as np


def _psd_sqrt(matrix):
  values, vectors = np.linalg.eigh(matrix)
  return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(features_a, features_b) -> float:
  """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) between the Gaussians fitted to two sets of rows
  (N, D), in float64 on the host. Tr (S_a S_b)^(1/2) is taken as the sum of the square roots of the eigenvalues
  of the symmetric S_a^(1/2) S_b S_a^(1/2) (the same spectrum), which stays real and exact when a covariance is
  singular (dead ReLU features, fewer samples than features)."""
  a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
  if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
    raise ValueError(f"need two sets of at least 2 feature rows of one width, got {a.shape} and {b.shape}")
  cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
  root_a = _psd_sqrt(cov_a)
  trace_root = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cov_b @ root_a), 0, None)).sum()
  return float(np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)
