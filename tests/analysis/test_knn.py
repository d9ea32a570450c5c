"""Nearest neighbours against a one-query-at-a-time reference, k-fold splits, and k and the distance chosen by
cross-validation on the digits' training split."""

import numpy as np
import pytest

from jaxdl import data
from jaxdl.analysis import kfold, knn
from tests.reference import knn as ref


@pytest.mark.parametrize("metric", knn.METRICS)
def test_knn_equals_the_definition_ties_included(metric):
  rng = np.random.default_rng(0)
  train_x = rng.integers(0, 3, size=(40, 3)).astype(np.float32)  # small integers: many equal distances
  train_y = rng.integers(0, 4, size=40)
  queries = rng.integers(0, 3, size=(37, 3)).astype(np.float32)
  for k in (1, 2, 4, 7):
    np.testing.assert_array_equal(knn.predict(train_x, train_y, queries, k, metric, num_classes=4, chunk=16),
                                  ref.predict(train_x, train_y, queries, k, metric))


def test_a_tied_vote_goes_to_the_class_voted_for_nearest():
  np.testing.assert_array_equal(knn.vote(np.array([[2, 1, 1, 2], [1, 2, 2, 1], [0, 3, 3, 3]]), 4), [2, 1, 3])
  with pytest.raises(ValueError, match="choose one of l1, l2"):
    knn.distances(np.zeros((1, 2)), np.zeros((1, 2)), "cosine")


def test_folds_validate_every_example_once():
  splits = kfold.folds(23, 5, seed=1)
  validated = np.concatenate([val for _, val in splits])
  np.testing.assert_array_equal(np.sort(validated), np.arange(23))
  assert sorted(len(val) for _, val in splits) == [4, 4, 5, 5, 5]
  for train, val in splits:
    assert not set(train) & set(val) and len(train) + len(val) == 23
  with pytest.raises(ValueError, match="choose 2 to 3 folds"):
    kfold.folds(3, 4)


def test_cross_validation_on_the_training_split_chooses_a_knn_that_reads_digits():
  dataset = data.load("digits", "", 0)
  train, test = (dataset.splits[s].read(np.arange(len(dataset.splits[s]))) for s in ("train", "test"))
  flat = lambda images: images.reshape(len(images), -1)  # noqa: E731
  x, y = flat(train["image"]), train["label"]

  def accuracy(setting, train_x, train_y, val_x, val_y):
    k, metric = setting
    return float(np.mean(np.asarray(knn.predict(train_x, train_y, val_x, k, metric)) == val_y))

  candidates = [(k, metric) for metric in knn.METRICS for k in (1, 5)]
  best, means = kfold.choose(candidates, accuracy, x, y, k=2)  # two folds of 647: one compile per candidate
  assert means[candidates.index(best)] == max(means) and min(means) > 0.9
  assert len(x) % 2 == 0  # so that knn.choose's equal folds are kfold.choose's folds
  k, metric, by_setting = knn.choose(x, y, 10, folds=2, ks=(1, 5))  # one search per fold and distance
  assert (k, metric) == best and list(by_setting.values()) == means
  assert np.mean(np.asarray(knn.predict(x, y, flat(test["image"]), *best)) == test["label"]) >= 0.97
