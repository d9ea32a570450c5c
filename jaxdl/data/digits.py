"""scikit-learn's bundled 8x8 digits (1,797 images): the offline default data set."""

import numpy as np
import scipy.ndimage
import sklearn.datasets

from jaxdl.data.source import ArraySource, Dataset, split_off
from jaxdl.errors import UsageError
from jaxdl.registry import datasets


@datasets.register("digits")
def load_digits(path: str, seed: int, image_size: int = 32, test_fraction: float = 0.2) -> Dataset:
  """Digits scaled to [0, 1], resized (bilinear) to image_size, split train/test by `seed`."""
  if path:
    raise UsageError(f"--data=digits takes no path (got {path!r}); the set ships with scikit-learn")
  if not 0 < test_fraction < 1:
    raise UsageError(f"--data_args test_fraction must be in (0, 1), got {test_fraction}")
  bunch = sklearn.datasets.load_digits()
  images = (bunch.images / 16.0).astype(np.float32)  # (1797, 8, 8), pixel values 0..16
  if image_size != 8:
    images = scipy.ndimage.zoom(images, (1, image_size / 8, image_size / 8), order=1, grid_mode=True,
                                mode="nearest")
  images = np.clip(images, 0.0, 1.0)[..., None]     # (1797, S, S, 1)
  labels = bunch.target.astype(np.int32)
  train, test = split_off(np.random.default_rng(seed), len(labels), round(test_fraction * len(labels)))
  return Dataset({"train": ArraySource(images[train], labels[train]),
                  "test": ArraySource(images[test], labels[test])}, num_classes=10)
