"""The linear classifier's closed form against numpy's lstsq, and its templates."""

import numpy as np

from jaxdl import data
from jaxdl.analysis import linear


def test_the_normal_equations_give_lstsqs_solution_and_a_classifier_of_the_digits():
  rng = np.random.default_rng(0)
  x, labels = rng.standard_normal((50, 6)).astype(np.float32), rng.integers(0, 3, 50)
  w, b = linear.least_squares(x, labels, 3)
  expected, *_ = np.linalg.lstsq(np.c_[x, np.ones(50)].astype(np.float64), np.eye(3)[labels], rcond=None)
  np.testing.assert_allclose(np.r_[w, b[None]], expected, rtol=1e-4, atol=1e-5)
  dataset = data.load("digits", "", 0)
  train, test = (dataset.splits[s].read(np.arange(len(dataset.splits[s]))) for s in ("train", "test"))
  w, b = linear.least_squares(train["image"], train["label"], 10, ridge=1.0)  # the digits' border pixels are 0
  scores = test["image"].reshape(len(test["image"]), -1) @ np.asarray(w) + np.asarray(b)
  assert np.mean(scores.argmax(1) == test["label"]) > 0.9
  images = linear.templates(w, train["image"].shape[1:])
  assert images.shape == (10, *train["image"].shape[1:])
  assert np.allclose(images.reshape(10, -1).min(1), 0) and np.allclose(images.reshape(10, -1).max(1), 1)
