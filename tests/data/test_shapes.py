"""`--data=shapes`: seeded scenes of 1-6 shapes with their classes, boxes and instance masks, in static shapes."""

import numpy as np
import pytest

from jaxdl import data
from jaxdl.data.shapes import CLASSES
from jaxdl.errors import UsageError

ARGS = "train_size=60,val_size=10,test_size=10"


def test_every_object_has_its_class_its_visible_mask_and_that_masks_box():
  dataset = data.load("shapes", ARGS, seed=0)
  assert dataset.num_classes == len(CLASSES) == 4 and set(dataset.splits) == {"train", "val", "test"}
  batch = dataset.splits["train"].read(np.arange(60))
  assert batch["image"].shape == (60, 64, 64, 3) and batch["image"].dtype == np.float32
  assert batch["boxes"].shape == (60, 6, 4) and batch["masks"].shape == (60, 6, 64, 64)
  assert 0 <= batch["image"].min() and batch["image"].max() <= 1
  counts = batch["box_mask"].sum(axis=1)
  assert counts.min() >= 1 and counts.max() <= 6 and len(set(counts)) > 3
  assert set(batch["labels"][batch["box_mask"]]) == set(range(4))
  for image in range(60):
    masks = batch["masks"][image]
    assert masks.sum(axis=0).max() <= 1  # what one object covers, no other shows there
    for slot in range(6):
      box, mask = batch["boxes"][image, slot], masks[slot]
      if not batch["box_mask"][image, slot]:
        assert not mask.any() and not box.any() and batch["labels"][image, slot] == 0
        continue
      rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
      assert box.tolist() == [cols[0], rows[0], cols[-1] + 1, rows[-1] + 1]
      assert mask.sum() >= 8  # at least a bit of the smallest shape is seen


def test_the_same_seed_draws_the_same_scenes_and_bad_sizes_are_one_line():
  first, again, other = (data.load("shapes", ARGS, seed=s).splits["val"].read(np.arange(10)) for s in (0, 0, 1))
  assert all(np.array_equal(first[k], again[k]) for k in first)
  assert not np.array_equal(first["image"], other["image"])
  with pytest.raises(UsageError, match="min_size=40 exceeds half the image"):
    data.load("shapes", "min_size=40", seed=0)
