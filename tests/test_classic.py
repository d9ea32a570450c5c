"""--mode=perceptron, knn and least_squares: the first chapters' classifiers fitted to digits by their own
algorithms, settings chosen without the test split, results in summary.json like a trained run's."""

import json
import os

import numpy as np
import pytest

from jaxdl import data, modes
from jaxdl.modes import classic
from jaxdl.config import Config, load_flagfile
from jaxdl.errors import UsageError
from tests.conftest import REPO

EIGHT = "image_size=8"


def run_experiment(name: str, workdir) -> dict:
  """experiments/NAME.flags through its mode; its summary.json, whose test accuracy the header states."""
  path = os.path.join(REPO, "experiments", f"{name}.flags")
  config = load_flagfile(path)
  text = modes.MODES[config.mode].run(config, str(workdir))
  summary = json.loads((workdir / "summary.json").read_text())
  assert f"test_accuracy {summary['final']['test_accuracy']:.3f}" in open(path).read()
  return {**summary, "text": text}


def test_the_perceptron_separates_two_digits_within_novikoffs_bound(tmp_path):
  summary = run_experiment("digits_perceptron", tmp_path)
  report, text = summary["perceptron"], summary["text"]
  assert report["converged"] and report["svm_margin"] >= report["margin"] > 0  # the SVM's margin is the widest
  assert 0 < report["updates"] <= report["bound"] == pytest.approx(1 / report["svm_margin"] ** 2)
  assert f"{report['updates']} updates <= Novikoff's bound" in text
  assert summary["final"]["val_accuracy"] > 0.9 and summary["final"]["test_accuracy"] > 0.9
  with pytest.raises(UsageError, match="separates two classes"):
    modes.MODES["perceptron"].run(Config(data="digits", data_args=EIGHT), str(tmp_path))


def test_knn_on_pixels_and_least_squares_read_digits_with_settings_chosen_off_the_test_split(tmp_path):
  knn = run_experiment("digits_knn", tmp_path / "knn")
  assert "chosen by 5-fold cross-validation on train" in knn["text"]
  assert knn["knn"]["cross_validation"][f"{knn['knn']['k']}/{knn['knn']['metric']}"] == max(
      knn["knn"]["cross_validation"].values())
  assert knn["final"]["test_accuracy"] >= 0.97
  lstsq = run_experiment("digits_linear_lstsq", tmp_path / "lstsq")
  by_ridge = lstsq["least_squares"]["val_accuracy_by_ridge"]
  assert list(by_ridge) == [str(r) for r in classic.RIDGES] and by_ridge[str(lstsq["least_squares"]["ridge"])] == max(
      by_ridge.values())
  assert lstsq["final"]["test_accuracy"] > 0.9
  assert (tmp_path / "lstsq" / "plots" / "templates.png").read_bytes()[:4] == b"\x89PNG"


def test_digits_can_keep_a_few_classes_relabelled_in_the_order_given():
  full = data.load("digits", EIGHT)
  pair = data.load("digits", f"{EIGHT},classes=(8,3)")
  assert pair.num_classes == 2
  labels = np.concatenate([s.read(np.arange(len(s)))["label"] for s in pair.splits.values()])
  assert set(labels) == {0, 1} and len(labels) == sum(
      np.isin(s.read(np.arange(len(s)))["label"], (3, 8)).sum() for s in full.splits.values())
  with pytest.raises(UsageError, match="name each digit once"):
    data.load("digits", "classes=(1,1)")
  with pytest.raises(UsageError, match="out of range"):
    data.load("digits", "classes=(1,10)")
