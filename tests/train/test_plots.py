"""Plots show a train curve and one eval curve per split."""

from jaxdl.train.plots import series


def test_series_splits_train_and_each_eval_split():
  rows = [{"step": 0, "split": "init", "loss": 2.3, "expected_loss": 2.3},
          {"step": 10, "split": "train", "loss": 1.0, "accuracy": 0.5},
          {"step": 10, "split": "eval", "val_loss": 1.1, "val_accuracy": 0.4, "test_loss": 1.2, "test_accuracy": 0.3},
          {"step": 20, "split": "train", "loss": 0.5, "accuracy": 0.8}]
  assert series(rows, "loss") == {"train": [(10, 1.0), (20, 0.5)], "val": [(10, 1.1)], "test": [(10, 1.2)]}
  assert series(rows, "accuracy") == {"train": [(10, 0.5), (20, 0.8)], "val": [(10, 0.4)], "test": [(10, 0.3)]}
