"""grain pipelines: seeded per-epoch shuffled training batches with checkpointable state, padded eval batches."""

import collections
import sys
from collections.abc import Callable, Iterator
from typing import Any

import grain
import jax
import numpy as np
from absl import flags

from jaxdl.data.source import Source


class EpochShuffledBatches(grain.MapDataset):
  """Index batch `step` of a seeded permutation that changes every epoch; each epoch drops its remainder.

  A batch-level grain dataset: grain's per-element `shuffle` costs ~18 us per example
  (measured), which would dominate a small model's step; here one `numpy` permutation per
  epoch and one vectorized gather per batch suffice. Random access by step makes the
  iterator state a single integer, so resume is exact. In a multi-host run each process
  takes its contiguous slice of the global batch.
  """

  def __init__(self, num_examples: int, batch_size: int, seed: int, shard_index: int = 0, shard_count: int = 1):
    super().__init__()
    if batch_size > num_examples:
      raise ValueError(f"batch size {batch_size} exceeds the {num_examples} training examples")
    self._num_examples, self._batch_size, self._seed = num_examples, batch_size, seed
    self._steps_per_epoch = num_examples // batch_size
    local = batch_size // shard_count
    self._local = slice(shard_index * local, (shard_index + 1) * local)
    self._cache: tuple[int, np.ndarray] | None = None

  def __len__(self) -> int:
    return sys.maxsize  # endless; the loop decides when to stop

  def _permutation(self, epoch: int) -> np.ndarray:
    if self._cache is None or self._cache[0] != epoch:
      self._cache = (epoch, np.random.default_rng([self._seed, epoch]).permutation(self._num_examples))
    return self._cache[1]

  def __getitem__(self, step):
    epoch, k = divmod(int(step), self._steps_per_epoch)
    batch = self._permutation(epoch)[k * self._batch_size:(k + 1) * self._batch_size]
    return batch[self._local]

  def __str__(self) -> str:
    return f"EpochShuffledBatches(n={self._num_examples}, batch_size={self._batch_size}, seed={self._seed})"


class ConsecutiveBatches(grain.MapDataset):
  """Row b of batch `step` continues row b of batch `step - 1`: the source's examples (windows starting at every
  position) are cut into `batch_size` streams, and step s reads each stream's window s (mod its length), so
  a carried hidden state (truncated BPTT) always sees the text that follows. At the end of its stream a row
  starts again from its stream's beginning. Random access by step: resume is exact.
  """

  def __init__(self, num_examples: int, window: int, batch_size: int, shard_index: int = 0, shard_count: int = 1):
    super().__init__()
    self._stream = num_examples // batch_size
    self._windows = self._stream // window
    if self._windows < 1:
      raise ValueError(f"{num_examples} training positions cut into {batch_size} streams leave fewer than one "
                       f"window of {window} per stream; use a smaller batch size or window")
    self._window, self._batch_size = window, batch_size
    local = batch_size // shard_count
    self._local = slice(shard_index * local, (shard_index + 1) * local)

  def __len__(self) -> int:
    return sys.maxsize

  def __getitem__(self, step):
    k = int(step) % self._windows
    return (np.arange(self._batch_size) * self._stream + k * self._window)[self._local]

  def __str__(self) -> str:
    return f"ConsecutiveBatches(streams={self._batch_size}, windows_per_stream={self._windows})"


def train_batches(source: Source, batch_size: int, seed: int, consecutive: bool = False) -> grain.DatasetIterator:
  """An endless, checkpointable iterator of training batches (this host's share): shuffled each epoch, or with
  `consecutive` (a source of windows at every position, with a `window` length) in `ConsecutiveBatches` order;
  read in `source.workers` grain worker processes where the source has them (the batches and their order are
  the same for any number)."""
  if consecutive:
    indices = ConsecutiveBatches(len(source), source.window, batch_size, jax.process_index(), jax.process_count())
  else:
    indices = EpochShuffledBatches(len(source), batch_size, seed, jax.process_index(), jax.process_count())
  options = grain.ReadOptions(num_threads=1, prefetch_buffer_size=4)
  batches = indices.map(source.read).to_iter_dataset(options)
  workers = getattr(source, "workers", 0)  # a source that decodes files reads in worker processes
  if workers:
    if not flags.FLAGS.is_parsed():  # grain's workers read absl flags; a library caller never parsed any
      flags.FLAGS.mark_as_parsed()
    batches = batches.mp_prefetch(grain.MultiprocessingOptions(num_workers=workers))
  return iter(batches)


def eval_batches(source: Source, batch_size: int, shard_index: int | None = None,
                 shard_count: int | None = None) -> Iterator[dict[str, np.ndarray]]:
  """Every example exactly once, in order; the last batch is zero-padded and "mask" marks real rows. In a
  multi-host run (by default this process's index and count) each process reads its contiguous slice of every
  global batch."""
  shard_index = jax.process_index() if shard_index is None else shard_index
  shard_count = jax.process_count() if shard_count is None else shard_count
  local = batch_size // shard_count
  for start in range(0, len(source), batch_size):
    global_rows = np.arange(start, start + batch_size)[shard_index * local:(shard_index + 1) * local]
    real = global_rows < len(source)
    batch = source.read(global_rows[real])
    batch = {k: np.concatenate([v, np.zeros((local - len(v), *v.shape[1:]), v.dtype)]) for k, v in batch.items()}
    batch["mask"] = real
    yield batch


def device_prefetch(iterator: grain.DatasetIterator, put: Callable[[Any], Any], size: int = 2):
  """Yields (device batch, iterator state after it), keeping `size` batches in flight.

  The state travels with its batch so a checkpoint records the position of the last batch
  *consumed*, not of the ones already prefetched.
  """
  queue = collections.deque()

  def enqueue():
    batch = next(iterator)
    queue.append((put(batch), iterator.get_state()))

  for _ in range(size):
    enqueue()
  while True:
    yield queue.popleft()
    enqueue()
