"""MNIST-format IDX files (`train-images-idx3-ubyte[.gz]`, ...), validated before use."""

import gzip
import os

import numpy as np

from jaxdl.args import NonNegativeInt, PositiveInt
from jaxdl.data.source import ArraySource, Dataset, pad_images, split_off
from jaxdl.errors import UsageError
from jaxdl.registry import datasets

_IMAGES_MAGIC, _LABELS_MAGIC = 0x00000803, 0x00000801  # unsigned bytes, 3 dims / 1 dim


def _find(directory: str, stem: str) -> str:
  for name in (stem, stem + ".gz"):
    if os.path.isfile(os.path.join(directory, name)):
      return os.path.join(directory, name)
  raise UsageError(f"--data=idx:{directory}: missing file {stem} (or {stem}.gz)")


def read_idx(path: str, magic: int) -> np.ndarray:
  """Reads one IDX file, checking its magic number and that the payload matches its shape."""
  opener = gzip.open if path.endswith(".gz") else open
  try:
    with opener(path, "rb") as f:
      raw = f.read()
  except (OSError, EOFError) as e:
    raise UsageError(f"{path}: cannot read IDX file ({e})") from None
  ndim = magic & 0xFF
  header = 4 + 4 * ndim
  if len(raw) < header or int.from_bytes(raw[:4], "big") != magic:
    found = raw[:4].hex() if len(raw) >= 4 else "a truncated header"
    raise UsageError(f"{path}: not an IDX file with magic {magic:#010x} (found {found})")
  shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
  expected = int(np.prod(shape))
  if len(raw) - header != expected:
    raise UsageError(f"{path}: truncated or padded IDX file: header says {shape} = {expected} bytes, "
                     f"found {len(raw) - header}")
  return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


def _pair(directory: str, prefix: str, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
  images_path = _find(directory, f"{prefix}-images-idx3-ubyte")
  labels_path = _find(directory, f"{prefix}-labels-idx1-ubyte")
  images, labels = read_idx(images_path, _IMAGES_MAGIC), read_idx(labels_path, _LABELS_MAGIC)
  if len(images) != len(labels):
    raise UsageError(f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels")
  if labels.size and labels.max() >= num_classes:
    raise UsageError(f"{labels_path}: label {labels.max()} is outside 0..{num_classes - 1} "
                     "(set --data_args=num_classes=N)")
  return (images.astype(np.float32) / 255.0)[..., None], labels.astype(np.int32)


@datasets.register("idx")
def load_idx(path: str, seed: int, pad_to: NonNegativeInt = 0, val_size: PositiveInt = 5000,
             num_classes: PositiveInt = 10) -> Dataset:
  """train/t10k pairs from directory `path`; a seeded slice of train of `val_size` is validation."""
  if not path or not os.path.isdir(path):
    raise UsageError(f"--data=idx:DIR needs a directory of IDX files, got {path!r}")
  train_images, train_labels = _pair(path, "train", num_classes)
  test_images, test_labels = _pair(path, "t10k", num_classes)
  if val_size >= len(train_labels):
    raise UsageError(f"--data_args val_size={val_size} must be below the {len(train_labels)} training images")
  train, val = split_off(np.random.default_rng(seed), len(train_labels), val_size)
  train_images, test_images = pad_images(train_images, pad_to), pad_images(test_images, pad_to)
  return Dataset({"train": ArraySource(train_images[train], train_labels[train]),
                  "val": ArraySource(train_images[val], train_labels[val]),
                  "test": ArraySource(test_images, test_labels)}, num_classes)
