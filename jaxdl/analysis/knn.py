"""k-nearest-neighbour classification, jitted and batched: distances to every training example (L1 or L2), the
k smallest by `lax.top_k`, a majority vote.

Ties are broken deterministically, in favour of the tied class whose closest member ranks nearest (with k = 1
that is the nearest neighbour's class; a tie in distance goes to the training example that comes first).
"""

import functools

import jax
import jax.numpy as jnp

METRICS = ("l1", "l2")


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
