"""Any prepared TFDS image-classification data set, read through `tfds.data_source` (no TensorFlow)."""

import dataclasses
import os

import numpy as np

from jaxdl.args import NonNegativeInt, OpenUnit
from jaxdl.data.source import Dataset, Subset, pad_images, split_off
from jaxdl.errors import UsageError
from jaxdl.registry import datasets

_SPLITS = {"train": "train", "val": "validation", "test": "test"}


@dataclasses.dataclass(frozen=True)
class TfdsSource:
  """A TFDS ArrayRecord split; each batch is one `__getitems__` read, scaled to [0, 1]."""

  source: object
  image_key: str
  label_key: str
  pad_to: int

  def __len__(self) -> int:
    return len(self.source)

  def read(self, indices: np.ndarray) -> dict[str, np.ndarray]:
    records = self.source.__getitems__([int(i) for i in indices])
    images = np.stack([r[self.image_key] for r in records])
    if images.ndim == 3:  # (N, H, W) -> (N, H, W, 1)
      images = images[..., None]
    images = images.astype(np.float32) / (255.0 if images.dtype == np.uint8 else 1.0)
    labels = np.asarray([r[self.label_key] for r in records], np.int32)
    return {"image": pad_images(images, self.pad_to), "label": labels}


@datasets.register("tfds")
def load_tfds(path: str, seed: int, data_dir: str = "", image_key: str = "image", label_key: str = "label",
              pad_to: NonNegativeInt = 0, val_fraction: OpenUnit = 0.1) -> Dataset:
  """`--data=tfds:NAME`: the train, validation and test splits that NAME has, prepared beforehand.

  A set without a validation split gets a seeded `val_fraction` slice of its train split.
  """
  import tensorflow_datasets as tfds  # slow import, only for this source

  data_dir = data_dir or os.environ.get("TFDS_DATA_DIR") or os.path.expanduser("~/tensorflow_datasets")
  try:
    builder = tfds.builder(path, data_dir=data_dir)
  except tfds.core.registered.DatasetNotFoundError as e:
    raise UsageError(f"--data=tfds:{path}: unknown TFDS data set ({str(e).splitlines()[0]})") from None
  if not builder.is_prepared():
    raise UsageError(f"--data=tfds:{path}: not prepared in {data_dir}; prepare it with: "
                     f"tfds build {path} --data_dir={data_dir} --file_format=array_record")
  splits = {}
  for ours, theirs in _SPLITS.items():
    if theirs in builder.info.splits:
      splits[ours] = TfdsSource(tfds.data_source(path, split=theirs, data_dir=data_dir), image_key, label_key,
                                pad_to)
  if "train" not in splits:
    raise UsageError(f"--data=tfds:{path} has no train split (it has {', '.join(builder.info.splits)})")
  if "val" not in splits:
    train = splits["train"]
    rest, val = split_off(np.random.default_rng(seed), len(train), round(val_fraction * len(train)))
    splits["train"], splits["val"] = Subset(train, rest), Subset(train, val)
  feature = builder.info.features[label_key]
  if not hasattr(feature, "num_classes"):
    raise UsageError(f"--data=tfds:{path}: feature {label_key!r} is not a ClassLabel")
  return Dataset(splits, int(feature.num_classes))
