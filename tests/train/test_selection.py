"""The test split never chooses anything: best checkpoint, early stopping and the monitored metric use val only."""

import dataclasses

import numpy as np

from jaxdl.args import PositiveInt
from jaxdl.config import Config
from jaxdl.data import digits
from jaxdl.data.source import ArraySource, Dataset
from jaxdl.registry import datasets
from jaxdl.train import loop


@datasets.register("digits_permuted_test_labels")
def load_permuted(path: str, seed: int, image_size: PositiveInt = 8) -> Dataset:
  """The digits with the test labels shuffled: what a run selects must not move."""
  ds = digits.load_digits(path, seed, image_size)
  test = ds.splits["test"]
  labels = test.labels[np.random.default_rng(1).permutation(len(test))]
  return Dataset({**ds.splits, "test": ArraySource(test.images, labels)}, ds.num_classes)


CONFIG = Config(data="digits", data_args="image_size=8", model="mlp", model_args="depth=1,width=64", lr=0.03,
                batch_size=64, steps=400, log_every=10, eval_every=10, checkpoint_every=1000, early_stop_patience=2)


def test_permuting_the_test_labels_changes_nothing_that_was_selected(tmp_path):
  real = loop.train_and_evaluate(CONFIG, str(tmp_path / "real"))
  permuted = loop.train_and_evaluate(dataclasses.replace(CONFIG, data="digits_permuted_test_labels"),
                                     str(tmp_path / "permuted"))
  assert real["stopped_early"] and real["steps_run"] < CONFIG.steps  # selection did happen
  for key in ("best_checkpoint_step", "stopped_early", "steps_run", "params_fingerprint"):
    assert real[key] == permuted[key], key
  assert {k: v for k, v in real["final"].items() if k.startswith("val_")} == \
      {k: v for k, v in permuted["final"].items() if k.startswith("val_")}
  assert real["final"]["test_accuracy"] != permuted["final"]["test_accuracy"]  # test is reported, and differs
