"""The embedded digits set and source dispatch."""

import numpy as np
import pytest

from jaxdl.data import load
from jaxdl.errors import UsageError


def test_digits_split_is_80_20_deterministic_by_seed_and_in_unit_range():
  a, b, c = load("digits", seed=0), load("digits", seed=0), load("digits", seed=1)
  assert {k: len(v) for k, v in a.splits.items()} == {"train": 1438, "test": 359}
  assert a.image_shape == (32, 32, 1) and a.num_classes == 10
  np.testing.assert_array_equal(a.splits["test"].images, b.splits["test"].images)
  assert not np.array_equal(a.splits["test"].labels, c.splits["test"].labels)
  images = a.splits["train"].images
  assert images.min() >= 0.0 and images.max() <= 1.0 and images.dtype == np.float32


def test_digits_native_size():
  assert load("digits", "image_size=8").image_shape == (8, 8, 1)


@pytest.mark.parametrize("spec,args,message", [
    ("cifar", "", "unknown dataset 'cifar'; choose one of: digits, idx, synthetic, tfds"),
    ("digits:/x", "", "takes no path"),
    ("digits", "size=3", "known keys: image_size, test_fraction"),
    ("digits", "test_fraction=1.5", "test_fraction must be in"),
])
def test_bad_specs(spec, args, message):
  with pytest.raises(UsageError, match=message):
    load(spec, args)


def test_synthetic_has_the_requested_shape_and_is_seeded():
  a, b = load("synthetic", "image_size=8,channels=3,train_size=50,test_size=10", seed=0), load("synthetic", "", 0)
  assert a.image_shape == (8, 8, 3) and {k: len(v) for k, v in a.splits.items()} == {"train": 50, "test": 10}
  assert b.image_shape == (32, 32, 3)
  again = load("synthetic", "image_size=8,channels=3,train_size=50,test_size=10", seed=0)
  np.testing.assert_array_equal(a.splits["train"].images, again.splits["train"].images)
