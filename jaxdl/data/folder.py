"""`--data=folder:DIR`: a user's own image-classification tree, one directory per class.

  DIR/train/<class>/*.png|jpg   DIR/val/<class>/...   DIR/test/<class>/... (optional)
  or one tree DIR/<class>/*.png|jpg, split by the seed into train, val and test.

Images are decoded and resized when a batch is read (PIL, bilinear), in `workers` grain worker processes for
training (`--data_args=workers=N`), so that decoding keeps up with the accelerator. The class names (the
directory names, sorted) are saved in the workdir as classes.json.
"""

import contextlib
import dataclasses
import json
import os
from typing import Annotated

import numpy as np
from PIL import Image

from jaxdl.args import NonNegativeInt, OpenUnit, PositiveInt, Range
from jaxdl.data.source import Dataset, split_off
from jaxdl.errors import UsageError
from jaxdl.registry import datasets

EXTENSIONS = (".png", ".jpg", ".jpeg")


@dataclasses.dataclass(frozen=True)
class FolderSource:
  """Image files and their labels, decoded on read: {"image": (B, S, S, C) float32 in [0, 1], "label": (B,)}."""

  files: tuple[str, ...]
  labels: np.ndarray
  image_size: int
  channels: int
  workers: int = 0  # grain worker processes that decode training batches (0: the training process itself)

  def __len__(self) -> int:
    return len(self.files)

  def read(self, indices: np.ndarray) -> dict[str, np.ndarray]:
    images = np.stack([decode_image(self.files[i], self.image_size, self.channels) for i in np.asarray(indices)])
    return {"image": images, "label": self.labels[np.asarray(indices)]}


def decode_image(path: str, image_size: int, channels: int) -> np.ndarray:
  """(image_size, image_size, channels) float32 in [0, 1]: the file decoded, converted and resized (bilinear)."""
  with _opened(path) as image:
    image = image.convert("L" if channels == 1 else "RGB")
    image = image.resize((image_size, image_size), Image.BILINEAR)
  pixels = np.asarray(image, np.float32) / 255.0
  return pixels.reshape(image_size, image_size, channels)


@contextlib.contextmanager
def _opened(path: str):
  """The image at `path`; a file PIL cannot read (or decode, inside the block) is a UsageError naming it."""
  try:
    with Image.open(path) as image:
      yield image
  except (OSError, ValueError) as e:
    raise UsageError(f"cannot read the image {path}: {e}") from None


def _class_dirs(split_dir: str) -> list[str]:
  return sorted(d for d in os.listdir(split_dir) if os.path.isdir(os.path.join(split_dir, d)))


def _list_tree(split_dir: str, classes: list[str]) -> tuple[list[str], np.ndarray]:
  """Every image of each class directory of `split_dir` (sorted), its header checked, and its class index."""
  found = _class_dirs(split_dir)
  if found != classes:
    missing, extra = sorted(set(classes) - set(found)), sorted(set(found) - set(classes))
    raise UsageError(f"{split_dir} has other classes than the training split: missing {missing or 'none'}, "
                     f"extra {extra or 'none'}")
  files, labels = [], []
  for label, name in enumerate(classes):
    directory = os.path.join(split_dir, name)
    images = sorted(f for f in os.listdir(directory) if f.lower().endswith(EXTENSIONS))
    if not images:
      raise UsageError(f"{directory} holds no .png or .jpg images: every class needs some")
    for f in images:
      path = os.path.join(directory, f)
      with _opened(path):
        pass  # the header: a file that is no image fails here, before training starts
      files.append(path)
      labels.append(label)
  return files, np.asarray(labels, np.int32)


@datasets.register("folder")
def load_folder(path: str, seed: int, image_size: PositiveInt = 32, channels: Annotated[int, Range(1, 3)] = 3,
                val_fraction: OpenUnit = 0.1, test_fraction: OpenUnit = 0.2, workers: NonNegativeInt = 0) -> Dataset:
  """DIR's train/val/test trees; without a val tree, a seeded `val_fraction` of train; without a train tree, DIR
  itself split by `seed` (`test_fraction` to test first, then `val_fraction` of the rest to val)."""
  if not path or not os.path.isdir(path):
    raise UsageError(f"--data=folder:DIR needs a directory; {path!r} is not one")
  if channels == 2:
    raise UsageError("--data_args channels=2: images are read as 1 (grey) or 3 (RGB) channels")
  make = lambda files, labels, w=0: FolderSource(tuple(files), labels, image_size, channels, w)  # noqa: E731
  rng = np.random.default_rng(seed)
  trees = os.path.isdir(os.path.join(path, "train"))  # else one tree, split by the seed
  root = os.path.join(path, "train") if trees else path
  classes = _class_dirs(root)
  if not classes:
    raise UsageError(f"{root} has no class directories (expected {root}/<class>/*.png)")
  files, labels = _list_tree(root, classes)
  files = np.asarray(files)
  splits = {}
  if not trees:
    rest, test = split_off(rng, len(files), round(test_fraction * len(files)))
    splits["test"] = make(files[test], labels[test])
    files, labels = files[rest], labels[rest]
  elif os.path.isdir(os.path.join(path, "test")):
    splits["test"] = make(*_list_tree(os.path.join(path, "test"), classes))
  if trees and os.path.isdir(os.path.join(path, "val")):
    splits["val"] = make(*_list_tree(os.path.join(path, "val"), classes))
    train = np.arange(len(files))
  else:
    train, val = split_off(rng, len(files), round(val_fraction * len(files)))
    splits["val"] = make(files[val], labels[val])
  splits["train"] = make(files[train], labels[train], workers)
  return Dataset(splits, num_classes=len(classes), artifacts={"classes.json": json.dumps(classes)})
