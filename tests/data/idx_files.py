"""Writes small MNIST-format IDX files for tests (no download)."""

import gzip
import os

import numpy as np


def write_idx(path: str, array: np.ndarray, magic: int) -> None:
  header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
  opener = gzip.open if path.endswith(".gz") else open
  with opener(path, "wb") as f:
    f.write(header + array.astype(np.uint8).tobytes())


def write_mnist_like(directory: str, n_train: int = 120, n_test: int = 40, side: int = 28, gz: bool = False,
                     seed: int = 0) -> str:
  """Class k is a bright k-th horizontal band plus noise: learnable in a few steps."""
  rng = np.random.default_rng(seed)
  os.makedirs(directory, exist_ok=True)
  suffix = ".gz" if gz else ""
  for prefix, n in (("train", n_train), ("t10k", n_test)):
    labels = rng.integers(0, 10, size=n)
    images = rng.integers(0, 60, size=(n, side, side))
    for i, y in enumerate(labels):
      images[i, 2 + 2 * y: 4 + 2 * y, 4:-4] = 255
    write_idx(os.path.join(directory, f"{prefix}-images-idx3-ubyte{suffix}"), images, 0x803)
    write_idx(os.path.join(directory, f"{prefix}-labels-idx1-ubyte{suffix}"), labels, 0x801)
  return directory
