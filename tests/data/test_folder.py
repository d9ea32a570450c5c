"""--data=folder:DIR: a user's image tree read with its class names, split as the tree says (or by the seed),
decoded in grain worker processes without changing a bit, and clear errors naming the file or directory."""

import dataclasses
import json
import os

import numpy as np
import pytest
from PIL import Image

from jaxdl import data
from jaxdl.config import Config
from jaxdl.errors import UsageError
from jaxdl.train import loop

CLASSES = ("blue", "green", "red")


def make_tree(root, splits=("train", "val", "test"), counts=(8, 3, 3), classes=CLASSES):
  """Noisy 10x10 images whose class is their brightest colour channel."""
  rng = np.random.default_rng(0)
  for split, count in zip(splits, counts):
    for c, name in enumerate(classes):
      directory = os.path.join(root, split, name)
      os.makedirs(directory, exist_ok=True)
      for i in range(count):
        pixels = rng.uniform(0, 60, (10, 10, 3)).astype(np.uint8)
        pixels[..., c] += 180
        Image.fromarray(pixels).save(os.path.join(directory, f"{i:03d}.{'png' if i % 2 else 'jpg'}"))
  return str(root)


def test_a_train_val_test_tree_is_read_with_its_class_names(tmp_path):
  dataset = data.load(f"folder:{make_tree(tmp_path)}", "image_size=8")
  assert {k: len(v) for k, v in dataset.splits.items()} == {"train": 24, "val": 9, "test": 9}
  assert dataset.num_classes == 3 and json.loads(dataset.artifacts["classes.json"]) == list(CLASSES)
  batch = dataset.splits["test"].read(np.arange(9))
  assert batch["image"].shape == (9, 8, 8, 3) and batch["image"].dtype == np.float32
  assert 0 <= batch["image"].min() and batch["image"].max() <= 1
  np.testing.assert_array_equal(batch["image"].mean(axis=(1, 2)).argmax(-1), batch["label"])  # its colour
  grey = data.load(f"folder:{tmp_path}", "image_size=5,channels=1").splits["val"].read(np.arange(2))["image"]
  assert grey.shape == (2, 5, 5, 1)


def test_one_tree_is_split_by_the_seed(tmp_path):
  make_tree(tmp_path, splits=("",), counts=(10,))
  first, again, other = (data.load(f"folder:{tmp_path}", "", seed) for seed in (0, 0, 1))
  assert {k: len(v) for k, v in first.splits.items()} == {"test": 6, "val": 2, "train": 22}
  files = {k: set(v.files) for k, v in first.splits.items()}
  assert not (files["train"] & files["val"] or files["train"] & files["test"] or files["val"] & files["test"])
  assert files == {k: set(v.files) for k, v in again.splits.items()}
  assert files != {k: set(v.files) for k, v in other.splits.items()}


def test_bad_trees_are_one_line_errors_naming_the_place(tmp_path):
  root = make_tree(tmp_path / "a")
  os.makedirs(tmp_path / "a" / "val" / "purple")
  with pytest.raises(UsageError, match=r"val has other classes than the training split: .* extra \['purple'\]"):
    data.load(f"folder:{root}")
  root = make_tree(tmp_path / "b")
  os.makedirs(tmp_path / "b" / "train" / "purple")
  with pytest.raises(UsageError, match="purple holds no .png or .jpg images"):
    data.load(f"folder:{root}")
  root = make_tree(tmp_path / "c")
  (tmp_path / "c" / "train" / "red" / "broken.png").write_bytes(b"not an image")
  with pytest.raises(UsageError, match=r"cannot read the image .*red/broken.png"):
    data.load(f"folder:{root}")
  with pytest.raises(UsageError, match="needs a directory"):
    data.load(f"folder:{tmp_path / 'missing'}")


def test_worker_processes_decode_the_same_batches_in_the_same_order(tmp_path):
  root = make_tree(tmp_path / "tree")
  config = Config(data=f"folder:{root}", data_args="image_size=8", model="mlp", model_args="depth=1,width=16",
                  batch_size=8, steps=12, eval_every=12)
  alone = loop.train_and_evaluate(config, str(tmp_path / "alone"))
  workers = loop.train_and_evaluate(dataclasses.replace(config, data_args="image_size=8,workers=2"),
                                    str(tmp_path / "workers"))
  assert workers["params_fingerprint"] == alone["params_fingerprint"]
  assert json.loads((tmp_path / "workers" / "classes.json").read_text()) == list(CLASSES)
