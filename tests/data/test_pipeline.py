"""grain pipelines: per-epoch seeded shuffles, remainder dropped, exact state restore, padded eval."""

import numpy as np

from jaxdl.data import pipeline
from jaxdl.data.source import ArraySource


def source(n):
  return ArraySource(np.arange(n, dtype=np.float32).reshape(n, 1, 1, 1), np.arange(n, dtype=np.int32))


def test_each_epoch_is_a_new_permutation_without_its_remainder():
  batches = pipeline.EpochShuffledBatches(num_examples=10, batch_size=3, seed=0)
  epochs = [np.concatenate([batches[e * 3 + k] for k in range(3)]) for e in range(3)]
  for epoch in epochs:
    assert len(epoch) == 9 and len(set(epoch)) == 9  # 3 full batches, no repeats, 1 example dropped
  assert not np.array_equal(epochs[0], epochs[1])
  again = pipeline.EpochShuffledBatches(num_examples=10, batch_size=3, seed=0)
  np.testing.assert_array_equal(again[4], batches[4])
  assert not np.array_equal(pipeline.EpochShuffledBatches(10, 3, seed=1)[0], batches[0])


def test_hosts_take_disjoint_slices_of_the_global_batch():
  whole = pipeline.EpochShuffledBatches(100, 8, seed=0)[5]
  parts = [pipeline.EpochShuffledBatches(100, 8, seed=0, shard_index=i, shard_count=2)[5] for i in range(2)]
  np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_iterator_state_restores_the_exact_position():
  it = pipeline.train_batches(source(50), 4, seed=3)
  for _ in range(7):
    next(it)
  state = it.get_state()
  expected = [next(it)["label"] for _ in range(5)]
  resumed = pipeline.train_batches(source(50), 4, seed=3)
  resumed.set_state(state)
  for want in expected:
    np.testing.assert_array_equal(next(resumed)["label"], want)


def test_device_prefetch_reports_the_state_of_the_consumed_batch():
  it = pipeline.train_batches(source(50), 4, seed=3)
  prefetched = pipeline.device_prefetch(it, put=lambda b: b, size=3)
  for _ in range(4):
    batch, state = next(prefetched)
  fresh = pipeline.train_batches(source(50), 4, seed=3)
  fresh.set_state(state)
  nxt, _ = next(prefetched)
  np.testing.assert_array_equal(next(fresh)["label"], nxt["label"])


def test_eval_batches_count_every_example_once():
  batches = list(pipeline.eval_batches(source(10), 4))
  assert [b["image"].shape[0] for b in batches] == [4, 4, 4]
  labels = np.concatenate([b["label"][b["mask"]] for b in batches])
  np.testing.assert_array_equal(labels, np.arange(10))
  assert batches[-1]["mask"].tolist() == [True, True, False, False]


def test_each_process_reads_its_slice_of_every_eval_batch():
  whole = list(pipeline.eval_batches(source(10), 4, 0, 1))
  shards = [list(pipeline.eval_batches(source(10), 4, i, 2)) for i in range(2)]
  for batch, first, second in zip(whole, *shards, strict=True):
    for key in batch:
      np.testing.assert_array_equal(np.concatenate([first[key], second[key]]), batch[key])
  assert shards[1][-1]["mask"].tolist() == [False, False]  # a process whose rows are all padding
