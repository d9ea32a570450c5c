"""k-fold cross-validation on the training split: choosing a setting (KNN's k and distance) without ever
looking at the test split."""

from collections.abc import Callable, Sequence

import numpy as np


def folds(count: int, k: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
  """(train indices, validation indices) of each of `k` folds of `count` examples shuffled by `seed`: every
  example is validated exactly once, fold sizes differ by at most one."""
  if not 2 <= k <= count:
    raise ValueError(f"{k}-fold cross-validation of {count} examples: choose 2 to {count} folds")
  parts = np.array_split(np.random.default_rng(seed).permutation(count), k)
  return [(np.sort(np.concatenate(parts[:i] + parts[i + 1:])), np.sort(part)) for i, part in enumerate(parts)]


def cross_validate(score: Callable, x, y, k: int = 5, seed: int = 0) -> float:
  """Mean over the folds of `score(train_x, train_y, val_x, val_y)` (higher is better)."""
  return float(np.mean([score(x[train], y[train], x[val], y[val]) for train, val in folds(len(x), k, seed)]))


def choose(candidates: Sequence, score: Callable, x, y, k: int = 5, seed: int = 0) -> tuple[object, list[float]]:
  """The candidate whose `score(candidate, train_x, train_y, val_x, val_y)` has the best mean over the same
  folds (the first one on a tie), and every candidate's mean."""
  means = [cross_validate(lambda *split, c=c: score(c, *split), x, y, k, seed) for c in candidates]
  return candidates[int(np.argmax(means))], means
