"""`tfds:NAME` through tfds.data_source, on a tiny builder prepared here (no download, no TensorFlow)."""

import io

import numpy as np
import PIL.Image
import pytest
import tensorflow_datasets as tfds

from jaxdl.data import load
from jaxdl.errors import UsageError


class TinyDigits(tfds.core.GeneratorBasedBuilder):
  """28x28x1 uint8 images, 10 classes; `Tensor` features so preparing needs no TensorFlow."""

  VERSION = tfds.core.Version("1.0.0")

  def _info(self):
    return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
        "image": tfds.features.Tensor(shape=(28, 28, 1), dtype=np.uint8),
        "label": tfds.features.ClassLabel(num_classes=10)}))

  def _split_generators(self, dl_manager):
    return {"train": self._generate_examples(48, 0), "test": self._generate_examples(16, 1)}

  def _generate_examples(self, n, seed):
    rng = np.random.default_rng(seed)
    for i in range(n):
      yield i, {"image": rng.integers(0, 256, (28, 28, 1), dtype=np.uint8), "label": i % 10}


class TinyDigitsWithValidation(TinyDigits):
  """The same, with a validation split of its own."""

  def _split_generators(self, dl_manager):
    return {**super()._split_generators(dl_manager), "validation": self._generate_examples(8, 2)}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
  d = str(tmp_path_factory.mktemp("tfds"))
  TinyDigits(data_dir=d, file_format="array_record").download_and_prepare()
  TinyDigitsWithValidation(data_dir=d, file_format="array_record").download_and_prepare()
  return d


def test_reads_splits_and_scales(data_dir):
  """Without a validation split, a seeded quarter of train becomes val (val_fraction=0.25)."""
  ds = load("tfds:tiny_digits", f"data_dir={data_dir},pad_to=32,val_fraction=0.25", seed=3)
  assert {k: len(v) for k, v in ds.splits.items()} == {"train": 36, "val": 12, "test": 16}
  assert ds.num_classes == 10
  batch = ds.splits["train"].read(np.array([0, 5, 11]))
  assert batch["image"].shape == (3, 32, 32, 1) and batch["image"].dtype == np.float32
  assert 0.0 <= batch["image"].min() and batch["image"].max() <= 1.0
  whole = load("tfds:tiny_digits", f"data_dir={data_dir},val_fraction=0.25", seed=3).splits
  labels = np.concatenate([whole[s].read(np.arange(len(whole[s])))["label"] for s in ("train", "val")])
  np.testing.assert_array_equal(np.bincount(labels), np.bincount(np.arange(48) % 10))  # a partition of train
  other = load("tfds:tiny_digits", f"data_dir={data_dir},val_fraction=0.25", seed=4).splits
  assert not np.array_equal(whole["val"].indices, other["val"].indices)  # the slice follows the seed


def test_a_validation_split_of_its_own_is_used(data_dir):
  ds = load("tfds:tiny_digits_with_validation", f"data_dir={data_dir}")
  assert {k: len(v) for k, v in ds.splits.items()} == {"train": 48, "val": 8, "test": 16}


def test_unprepared_set_names_the_build_command(tmp_path):
  with pytest.raises(UsageError, match="tfds build mnist --data_dir=.* --file_format=array_record"):
    load("tfds:mnist", f"data_dir={tmp_path}")


def test_unknown_set(tmp_path):
  with pytest.raises(UsageError, match="unknown TFDS data set"):
    load("tfds:no_such_set_xyz", f"data_dir={tmp_path}")


def png(image: np.ndarray) -> io.BytesIO:
  """PNG bytes made with Pillow: handed to TFDS as a file, an `Image` feature is stored without TensorFlow."""
  buffer = io.BytesIO()
  PIL.Image.fromarray(image).save(buffer, format="PNG")
  buffer.seek(0)
  return buffer


class TinyCifar(tfds.core.GeneratorBasedBuilder):
  """CIFAR-10's feature spec (tfds' cifar10: "id" Text, "image" Image 32x32x3, "label" 10 named classes), a
  handful of random examples."""

  VERSION = tfds.core.Version("1.0.0")

  def _info(self):
    return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
        "id": tfds.features.Text(),
        "image": tfds.features.Image(shape=(32, 32, 3)),
        "label": tfds.features.ClassLabel(names=["airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                                                 "horse", "ship", "truck"])}))

  def _split_generators(self, dl_manager):
    return {"train": self._generate_examples(64, 0), "test": self._generate_examples(32, 1)}

  def _generate_examples(self, n, seed):
    rng = np.random.default_rng(seed)
    for i in range(n):
      yield i, {"id": f"{seed}_{i}", "image": png(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)), "label": i % 10}


@pytest.mark.parametrize("runs", [
    [("cifar10_speedrun", "widths=(8,16,16)"), ("cifar10_vit", "patch_size=8,width=16,depth=1,num_heads=2")],
    pytest.param([("cifar10_resnet18", "stem=small,width=4,stage_sizes=(1,1)")], marks=pytest.mark.slow),
], ids=["speedrun", "resnet18"])
def test_cifar10_experiments_run_on_a_cifar_shaped_set(tmp_path, runs):
  """experiments/cifar10_*.flags end to end (a few steps, narrow models) on the tiny CIFAR-shaped set, with the
  seeded validation slice it gets for having no validation split. The ResNet18 file runs in `make test-all`; in
  `make test` its flags are parsed (tests/test_readme.py) and its model runs forward (tests/test_models.py)."""
  from tests.conftest import run_jaxdl_batch
  data_dir = str(tmp_path / "tfds")
  TinyCifar(data_dir=data_dir, file_format="array_record").download_and_prepare()
  results = run_jaxdl_batch(*[
      [f"--flagfile=experiments/{experiment}.flags", "--data=tfds:tiny_cifar",
       f"--data_args=data_dir={data_dir},val_fraction=0.25", f"--model_args={model_args}", "--batch_size=16",
       "--steps=3", "--warmup_steps=1", "--log_every=1", f"--workdir={tmp_path}/{experiment}"]
      for experiment, model_args in runs])
  for result in results:
    assert result["code"] == 0, result["stderr"]
    assert "val_accuracy=" in result["stdout"] and "test_accuracy=" in result["stdout"]
