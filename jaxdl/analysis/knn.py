"""k-nearest-neighbour classification, jitted and batched: distances to every training example (L1 or L2), the
k smallest by `lax.top_k`, a majority vote.

Ties are broken deterministically, in favour of the tied class whose closest member ranks nearest (with k = 1
that is the nearest neighbour's class; a tie in distance goes to the training example that comes first).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl.analysis import kfold

METRICS = ("l1", "l2")
KS = (1, 3, 5, 10, 20)  # the k that `choose` tries


def distances(queries, keys, metric: str = "l2"):
  """(Q, D), (K, D) -> (Q, K): sum |q - k| (l1) or ||q - k||^2 (l2, the square: the order is the same)."""
  if metric == "l1":
    return jnp.abs(queries[:, None, :] - keys[None, :, :]).sum(-1)
  if metric == "l2":
    return (jnp.square(queries).sum(-1)[:, None] - 2 * queries @ keys.T + jnp.square(keys).sum(-1)[None, :])
  raise ValueError(f"distance {metric!r}: choose one of {', '.join(METRICS)}")


def vote(neighbour_labels, num_classes: int):
  """(Q, k) labels, nearest first -> (Q,) the class with most votes, ties to the one whose first vote ranks
  nearest."""
  k = neighbour_labels.shape[-1]
  hits = jax.nn.one_hot(neighbour_labels, num_classes, dtype=jnp.int32)  # (Q, k, C)
  votes = hits.sum(1)
  nearest = jnp.max(hits * (k - jnp.arange(k))[None, :, None], axis=1)  # k - rank of each class's first vote
  return jnp.argmax(votes * (k + 1) + nearest, axis=-1)


@functools.partial(jax.jit, static_argnames=("k", "metric", "chunk"))
def neighbours(train_x, queries, k: int, metric: str = "l2", chunk: int = 256):
  """Indices (Q, k) of the k rows of `train_x` (N, D) nearest each query (Q, D), nearest first (equal distances:
  the lower index first), `chunk` queries at a time (memory chunk x N, times D for l1). The first j of them are
  the j nearest, so one call serves every k' <= k."""
  if not 1 <= k <= train_x.shape[0]:
    raise ValueError(f"k={k}: choose 1 to the {train_x.shape[0]} training examples")
  pad = -queries.shape[0] % chunk
  blocks = jnp.pad(queries, ((0, pad), (0, 0))).reshape(-1, chunk, queries.shape[1])
  nearest = jax.lax.map(lambda block: jax.lax.top_k(-distances(block, train_x, metric), k)[1], blocks)
  return nearest.reshape(-1, k)[:queries.shape[0]]


def predict(train_x, train_y, queries, k: int, metric: str = "l2", num_classes: int = 10, chunk: int = 256):
  """Labels (Q,) of `queries` by the vote of their k nearest training examples."""
  return vote(jnp.asarray(train_y)[neighbours(train_x, queries, k, metric, chunk)], num_classes)



def choose(train_x, train_y, num_classes: int, folds: int = 5, seed: int = 0, ks=KS):
  """(k, metric, {"k/metric": mean accuracy}): the setting of KS x METRICS that classifies held-out training
  examples best over `folds` folds (`kfold.folds`), the first on a tie (metric-major, then k ascending). Does
  what `kfold.choose` does, but with one neighbour search per fold and distance serving every k; the
  remainder of `folds` examples sits out so that all folds have one shape (one compile per distance)."""
  usable = len(train_x) - len(train_x) % folds
  train_x, train_y = np.asarray(train_x)[:usable], np.asarray(train_y)[:usable]
  scores = {(k, metric): [] for metric in METRICS for k in ks}
  for fit, held_out in kfold.folds(usable, folds, seed):
    for metric in METRICS:
      nearest = np.asarray(neighbours(train_x[fit], train_x[held_out], max(ks), metric))
      for k in ks:
        guesses = np.asarray(vote(train_y[fit][nearest[:, :k]], num_classes))
        scores[(k, metric)].append(float(np.mean(guesses == train_y[held_out])))
  means = {f"{k}/{metric}": float(np.mean(s)) for (k, metric), s in scores.items()}
  k, metric = list(scores)[int(np.argmax(list(means.values())))]
  return k, metric, means
