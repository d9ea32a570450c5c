"""IDX reading: shapes, padding, splits, and an actionable error for each kind of bad file."""

import os

import numpy as np
import pytest

from jaxdl.data import load
from jaxdl.errors import UsageError
from tests.data.idx_files import write_idx, write_mnist_like


@pytest.mark.parametrize("gz", [False, True])
def test_loads_train_val_test_with_padding(tmp_path, gz):
  d = write_mnist_like(str(tmp_path), gz=gz)
  ds = load(f"idx:{d}", "pad_to=32,val_size=20", seed=0)
  assert {k: len(v) for k, v in ds.splits.items()} == {"train": 100, "val": 20, "test": 40}
  batch = ds.splits["test"].read(np.arange(4))
  assert batch["image"].shape == (4, 32, 32, 1) and batch["image"].dtype == np.float32
  assert batch["image"].max() == 1.0 and batch["image"][:, :2].max() == 0.0  # 2 rows of zero padding
  # the validation slice depends on the seed and never overlaps training
  other = load(f"idx:{d}", "val_size=20", seed=1)
  assert not np.array_equal(ds.splits["val"].labels, other.splits["val"].labels) or \
      not np.array_equal(ds.splits["val"].images[..., 2:30, 2:30, :], other.splits["val"].images)


def _break(d, name, data):
  with open(os.path.join(d, name), "wb") as f:
    f.write(data)


@pytest.mark.parametrize("damage,message", [
    (lambda d: os.remove(os.path.join(d, "t10k-labels-idx1-ubyte")), "missing file t10k-labels-idx1-ubyte"),
    (lambda d: _break(d, "train-images-idx3-ubyte",
                      open(os.path.join(d, "train-images-idx3-ubyte"), "rb").read()[:-100]), "truncated"),
    (lambda d: _break(d, "train-labels-idx1-ubyte", b"\x00\x00\x08\x03" + bytes(20)), "magic"),
    (lambda d: _break(d, "train-images-idx3-ubyte", b"\x00\x00"), "truncated header"),
    (lambda d: write_idx(os.path.join(d, "t10k-labels-idx1-ubyte"), np.full(40, 12), 0x801), "label 12"),
    (lambda d: write_idx(os.path.join(d, "t10k-labels-idx1-ubyte"), np.zeros(39), 0x801), "40 images but"),
])
def test_bad_files_name_the_file_and_the_problem(tmp_path, damage, message):
  d = write_mnist_like(str(tmp_path))
  damage(d)
  with pytest.raises(UsageError, match=message):
    load(f"idx:{d}", "val_size=10", seed=0)


def test_missing_directory():
  with pytest.raises(UsageError, match="needs a directory"):
    load("idx:/no/such/dir")
