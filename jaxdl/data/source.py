"""Random-access example sources: what a grain pipeline reads one batch of indices from."""

import dataclasses
from typing import Protocol

import numpy as np


class Source(Protocol):
  """Random access to examples; `read` returns a batch {"image": f32 NHWC in [0,1], "label": i32}."""

  def __len__(self) -> int: ...

  def read(self, indices: np.ndarray) -> dict[str, np.ndarray]: ...


@dataclasses.dataclass(frozen=True)
class ArraySource:
  """An in-memory split: one vectorized gather per batch instead of one call per example."""

  images: np.ndarray  # (N, H, W, C) float32 in [0, 1]
  labels: np.ndarray  # (N,) int32

  def __len__(self) -> int:
    return len(self.labels)

  def read(self, indices: np.ndarray) -> dict[str, np.ndarray]:
    return {"image": self.images[indices], "label": self.labels[indices]}


@dataclasses.dataclass(frozen=True)
class Dataset:
  """Named splits ("train", optionally "val", "test") and the number of classes."""

  splits: dict[str, Source]
  num_classes: int

  @property
  def eval_splits(self) -> list[str]:
    return [name for name in ("val", "test") if name in self.splits]

  @property
  def image_shape(self) -> tuple[int, ...]:
    return self.splits["train"].read(np.arange(1))["image"].shape[1:]


def pad_images(images: np.ndarray, size: int) -> np.ndarray:
  """Zero-pads (N, H, W, C) images equally on each side to size x size (e.g. MNIST 28 -> 32)."""
  h, w = images.shape[1:3]
  if size <= 0 or (h, w) == (size, size):
    return images
  top, left = (size - h) // 2, (size - w) // 2
  return np.pad(images, ((0, 0), (top, size - h - top), (left, size - w - left), (0, 0)))


def split_off(rng: np.random.Generator, n: int, count: int) -> tuple[np.ndarray, np.ndarray]:
  """A seeded permutation of range(n) cut into (the rest, `count` held-out indices)."""
  perm = rng.permutation(n)
  return np.sort(perm[count:]), np.sort(perm[:count])
