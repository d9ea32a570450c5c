"""Generated image-classification data: for benchmarks and tests that need a given shape but no download."""

import numpy as np

from jaxdl.args import PositiveInt
from jaxdl.data.source import ArraySource, Dataset
from jaxdl.errors import UsageError
from jaxdl.registry import datasets


@datasets.register("synthetic")
def load_synthetic(path: str, seed: int, image_size: PositiveInt = 32, channels: PositiveInt = 3,
                   num_classes: PositiveInt = 10, train_size: PositiveInt = 10_000, val_size: PositiveInt = 1_000,
                   test_size: PositiveInt = 1_000) -> Dataset:
  """Class k is a fixed random template k plus uniform noise, clipped to [0, 1]: learnable, any shape.

  `--data=synthetic` (no path); CIFAR-10's shape is the default.
  """
  if path:
    raise UsageError(f"--data=synthetic takes no path (got {path!r}); set shapes with --data_args")
  rng = np.random.default_rng(seed)
  templates = rng.uniform(size=(num_classes, image_size, image_size, channels)).astype(np.float32)

  def split(n):
    labels = rng.integers(0, num_classes, size=n).astype(np.int32)
    noise = rng.uniform(-0.5, 0.5, size=(n, image_size, image_size, channels)).astype(np.float32)
    return ArraySource(np.clip(templates[labels] + noise, 0.0, 1.0), labels)

  return Dataset({"train": split(train_size), "val": split(val_size), "test": split(test_size)}, num_classes)
