"""Random-access example sources: what a grain pipeline reads one batch of indices from."""

import dataclasses
import os
from typing import Protocol

import numpy as np

from jaxdl.errors import UsageError


class Source(Protocol):
  """Random access to examples; `read(indices)` returns one batch as a dict of arrays with a leading batch axis.

  The keys are whatever the task reads: {"image": f32 NHWC in [0, 1], "label": i32} for
  classification, {"tokens": i32 (B, T)} for language models, and so on.
  """

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
class Arrays:
  """An in-memory split of any keys: {name: (N, ...) array}, each batch one gather per key."""

  arrays: dict[str, np.ndarray]

  def __len__(self) -> int:
    return len(next(iter(self.arrays.values())))

  def read(self, indices: np.ndarray) -> dict[str, np.ndarray]:
    return {name: array[indices] for name, array in self.arrays.items()}


@dataclasses.dataclass(frozen=True)
class Subset:
  """The examples `indices` of another source: a seeded validation slice of a set that has none."""

  source: Source
  indices: np.ndarray

  def __len__(self) -> int:
    return len(self.indices)

  def read(self, indices: np.ndarray) -> dict[str, np.ndarray]:
    return self.source.read(self.indices[indices])


@dataclasses.dataclass(frozen=True)
class Dataset:
  """Named splits "train", "val" and (where the set has one) "test"; `num_classes` where there are classes.

  "val" is what anything that chooses (best checkpoint, early stopping, ensembles, sweeps) looks
  at; "test" is only reported.
  """

  splits: dict[str, Source]
  num_classes: int = 0
  # Files the run needs beside its checkpoints (a tokenizer's vocab.json): name -> text. Written into the workdir
  # when a run starts; a resumed run or a sampler reads them back, and a different one is refused.
  artifacts: dict[str, str] = dataclasses.field(default_factory=dict)

  def __post_init__(self):
    missing = [name for name in ("train", "val") if name not in self.splits]
    if missing:
      raise ValueError(f"a Dataset needs the splits train and val; missing {', '.join(missing)}")
    empty = [name for name, source in self.splits.items() if len(source) == 0]
    if empty:
      raise UsageError(f"--data_args leave the {', '.join(empty)} split(s) empty; use a larger fraction or size")

  @property
  def eval_splits(self) -> list[str]:
    return [name for name in ("val", "test") if name in self.splits]

  @property
  def example_shapes(self) -> dict[str, tuple[int, ...]]:
    """Per-example shape of each key of a batch, e.g. {"image": (32, 32, 1), "label": ()}."""
    return {k: v.shape[1:] for k, v in self.splits["train"].read(np.arange(1)).items()}

  def first_examples(self, count: int, split: str = "") -> tuple[str, dict[str, np.ndarray]]:
    """(split, its first `count` examples) of `split`; by default the test split, or val where there is none
    (what a mode shows a trained run)."""
    split = split or ("test" if "test" in self.splits else "val")
    source = self.splits[split]
    return split, source.read(np.arange(min(count, len(source))))


def pad_images(images: np.ndarray, size: int) -> np.ndarray:
  """Zero-pads (N, H, W, C) images equally on each side to size x size (e.g. MNIST 28 -> 32)."""
  h, w = images.shape[1:3]
  if size <= 0 or (h, w) == (size, size):
    return images
  if size < max(h, w):
    raise UsageError(f"--data_args pad_to={size} is smaller than the {h}x{w} images")
  top, left = (size - h) // 2, (size - w) // 2
  return np.pad(images, ((0, 0), (top, size - h - top), (left, size - w - left), (0, 0)))


def split_off(rng: np.random.Generator, n: int, count: int) -> tuple[np.ndarray, np.ndarray]:
  """A seeded permutation of range(n) cut into (the rest, `count` held-out indices)."""
  perm = rng.permutation(n)
  return np.sort(perm[count:]), np.sort(perm[:count])


def read_artifact(workdir: str, name: str) -> str:
  """A data artifact the run wrote into its workdir (`Dataset.artifacts`), e.g. a tokenizer's vocab.json."""
  path = os.path.join(workdir, name)
  if not os.path.exists(path):
    raise UsageError(f"{path} is missing: --workdir must be a run whose data wrote it")
  with open(path, encoding="utf-8") as f:
    return f.read()
