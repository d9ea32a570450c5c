"""The embedded digits set and source dispatch."""

import numpy as np
import pytest

from jaxdl.data import load
from jaxdl.errors import UsageError


def test_digits_split_is_deterministic_by_seed_disjoint_and_in_unit_range():
  """20% test, then 10% of the rest validation (1294 + 144 + 359 = all 1,797 images); the test split is the
  one the earlier train/test split had, so test figures stay comparable."""
  a, b, c = load("digits", seed=0), load("digits", seed=0), load("digits", seed=1)
  assert {k: len(v) for k, v in a.splits.items()} == {"train": 1294, "val": 144, "test": 359}
  assert a.example_shapes == {"image": (32, 32, 1), "label": ()} and a.num_classes == 10
  for split in ("train", "val", "test"):
    np.testing.assert_array_equal(a.splits[split].images, b.splits[split].images)
  assert not np.array_equal(a.splits["val"].labels, c.splits["val"].labels)
  images = a.splits["train"].images
  assert images.min() >= 0.0 and images.max() <= 1.0 and images.dtype == np.float32
  assert len(load("digits", "val_fraction=0.25").splits["val"]) == 360  # round(0.25 * 1438)


def test_digits_native_size():
  assert load("digits", "image_size=8").example_shapes["image"] == (8, 8, 1)


@pytest.mark.parametrize("spec,args,message", [
    ("cifar", "", "unknown dataset 'cifar'; choose one of: coco, digits"),
    ("digits:/x", "", "takes no path"),
    ("digits", "size=3", "known keys: classes, image_size, test_fraction, val_fraction"),
    ("digits", "test_fraction=1.5", r"test_fraction=1.5 is out of range: must be in \(0, 1\)"),
])
def test_bad_specs(spec, args, message):
  with pytest.raises(UsageError, match=message):
    load(spec, args)


def test_synthetic_has_the_requested_shape_and_is_seeded():
  a, b = load("synthetic", "image_size=8,channels=3,train_size=50,val_size=5,test_size=10", seed=0), load("synthetic")
  assert a.example_shapes["image"] == (8, 8, 3)
  assert {k: len(v) for k, v in a.splits.items()} == {"train": 50, "val": 5, "test": 10}
  assert b.example_shapes["image"] == (32, 32, 3)
  again = load("synthetic", "image_size=8,channels=3,train_size=50,val_size=5,test_size=10", seed=0)
  np.testing.assert_array_equal(a.splits["train"].images, again.splits["train"].images)
