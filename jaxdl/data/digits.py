"""scikit-learn's bundled 8x8 digits (1,797 images): the offline default data set."""

from typing import Annotated

import numpy as np
import scipy.ndimage
import sklearn.datasets

from jaxdl.args import OpenUnit, PositiveInt, Range
from jaxdl.data.source import ArraySource, Dataset, split_off
from jaxdl.errors import UsageError
from jaxdl.registry import datasets


@datasets.register("digits")
def load_digits(path: str, seed: int, image_size: PositiveInt = 32, test_fraction: OpenUnit = 0.2,
                val_fraction: OpenUnit = 0.1, classes: tuple[Annotated[int, Range(0, 9)], ...] = ()) -> Dataset:
  """Digits scaled to [0, 1], resized (bilinear) to image_size, split train/val/test by `seed`; only the digits
  `classes` (e.g. classes=(0,1) for the perceptron's two classes), labelled 0, 1, ... in that order, when given.

  The test split is cut first, then `val_fraction` of the rest becomes validation: what picks the
  best checkpoint and stops early, so the test split is only ever reported.
  """
  if path:
    raise UsageError(f"--data=digits takes no path (got {path!r}); the set ships with scikit-learn")
  bunch = sklearn.datasets.load_digits()
  images = (bunch.images / 16.0).astype(np.float32)  # (1797, 8, 8), pixel values 0..16
  if image_size != 8:
    images = scipy.ndimage.zoom(images, (1, image_size / 8, image_size / 8), order=1, grid_mode=True,
                                mode="nearest")
  images = np.clip(images, 0.0, 1.0)[..., None]     # (1797, S, S, 1)
  labels = bunch.target.astype(np.int32)
  if classes:
    if len(set(classes)) != len(classes):
      raise UsageError(f"--data_args classes={classes}: name each digit once")
    relabel = np.full(10, -1, np.int32)
    relabel[list(classes)] = np.arange(len(classes))
    keep = relabel[labels] >= 0
    images, labels = images[keep], relabel[labels[keep]]
  rng = np.random.default_rng(seed)
  rest, test = split_off(rng, len(labels), round(test_fraction * len(labels)))
  train, val = split_off(rng, len(rest), round(val_fraction * len(rest)))
  train, val = rest[train], rest[val]
  return Dataset({"train": ArraySource(images[train], labels[train]), "val": ArraySource(images[val], labels[val]),
                  "test": ArraySource(images[test], labels[test])}, num_classes=len(classes) or 10)
