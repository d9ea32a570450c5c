"""Modes that fit the first chapters' classifiers by their own algorithms, not by the training loop: the
perceptron (`--mode=perceptron`, two classes), k nearest neighbours on the pixels (`--mode=knn`) and the linear
classifier's least-squares closed form (`--mode=least_squares`, with its class templates).

Their settings are chosen on the training split (cross-validation) or on the validation split; the test split is
only reported. Each writes summary.json with a trained run's "final" keys (val_accuracy, test_accuracy) beside
its own report, so that a results table reads them like any run.
"""

import json
import os

import numpy as np
import sklearn.svm

from jaxdl import data
from jaxdl.analysis import knn as knn_lib
from jaxdl.analysis import linear, perceptron as perceptron_lib
from jaxdl.config import Config
from jaxdl.errors import UsageError
from jaxdl.train import plots

MAX_PASSES = 1000  # the perceptron's passes over the data before it gives up on separating them
RIDGES = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)  # least squares' ridge, chosen on the validation split


def _flat_splits(config: Config, mode: str):
  """(dataset, {split: (x (N, D) float32, labels (N,))}) of an image-classification data set."""
  dataset = data.load(config.data, config.data_args, config.seed)
  if "image" not in dataset.example_shapes or not dataset.num_classes:
    raise UsageError(f"--mode={mode} classifies images; --data={config.data} has no labelled images")
  splits = {}
  for name, source in dataset.splits.items():
    batch = source.read(np.arange(len(source)))
    splits[name] = batch["image"].reshape(len(source), -1).astype(np.float32), batch["label"]
  return dataset, splits


def _accuracies(splits, predict) -> dict[str, float]:
  return {f"{name}_accuracy": float(np.mean(np.asarray(predict(x)) == y))
          for name, (x, y) in splits.items() if name != "train"}


def _write_summary(workdir: str, config: Config, final: dict, key: str, report: dict) -> str:
  os.makedirs(workdir, exist_ok=True)
  path = os.path.join(workdir, "summary.json")
  with open(path, "w") as f:
    json.dump({"mode": config.mode, "data": config.data, "data_args": config.data_args, "seed": config.seed,
               "final": final, key: report}, f, indent=2)
  return path


def perceptron(config: Config, workdir: str) -> str:
  """Rosenblatt's algorithm on a two-class set, bias folded into x and every x scaled into the unit ball, until
  a pass over the training split makes no mistake: the updates it made against Novikoff's bound 1 / gamma^2,
  gamma the margin of a hard-margin linear SVM (sklearn), the widest separator we can find; any separator's
  margin gives a bound, the widest the tightest."""
  dataset, splits = _flat_splits(config, "perceptron")
  if dataset.num_classes != 2:
    raise UsageError(f"--mode=perceptron separates two classes; --data={config.data} has {dataset.num_classes} "
                     "(--data=digits --data_args=classes=(0,1) picks two digits)")
  biased = {name: (np.asarray(perceptron_lib.with_bias(x)), 2.0 * y - 1) for name, (x, y) in splits.items()}
  scale = np.linalg.norm(biased["train"][0], axis=1).max()
  signed = {name: (x / scale, y) for name, (x, y) in biased.items()}
  x, y = signed["train"]
  result = perceptron_lib.train_perceptron(x, y, MAX_PASSES)
  svm = sklearn.svm.LinearSVC(C=1e6, loss="hinge", fit_intercept=False, max_iter=1_000_000).fit(x, y)
  svm_margin = float(perceptron_lib.margin(svm.coef_[0], x, y))
  report = {"train_examples": len(y), "updates": int(result.updates), "passes": int(result.epochs),
            "converged": bool(result.converged), "margin": float(perceptron_lib.margin(result.weights, x, y)),
            "svm_margin": svm_margin, "bound": 1 / svm_margin**2 if svm_margin > 0 else None}
  weights = np.asarray(result.weights)
  final = _accuracies(signed, lambda q: np.where(q @ weights > 0, 1.0, -1.0))
  path = _write_summary(workdir, config, final, "perceptron", report)
  if not report["converged"] or report["bound"] is None:
    verdict = f"no separating line found in {MAX_PASSES} passes: the bound does not apply"
  else:
    verdict = (f"{report['updates']} updates <= Novikoff's bound 1/gamma^2 = {report['bound']:.0f} "
               f"(gamma = {svm_margin:.4f}, a hard-margin SVM's margin)")
  return "\n".join([f"perceptron: {report['passes']} passes over {len(y)} training examples; {verdict}",
                    " ".join(f"{k}={v:.4f}" for k, v in final.items()), f"wrote {path}"])


def knn(config: Config, workdir: str) -> str:
  """k nearest neighbours on the raw pixels, k and the distance chosen by 5-fold cross-validation on the
  training split."""
  dataset, splits = _flat_splits(config, "knn")
  x, y = splits["train"]
  k, metric, means = knn_lib.choose(x, y, dataset.num_classes, seed=config.seed)
  final = _accuracies(splits, lambda q: knn_lib.predict(x, y, q, k, metric, dataset.num_classes))
  path = _write_summary(workdir, config, final, "knn", {"k": k, "metric": metric, "cross_validation": means})
  return "\n".join([f"knn on {x.shape[1]} pixels: k={k} ({metric}, chosen by 5-fold cross-validation on train)",
                    " ".join(f"{name}={value:.4f}" for name, value in final.items()), f"wrote {path}"])


def least_squares(config: Config, workdir: str) -> str:
  """The linear classifier W x + b fitted to one-hot targets in closed form, the ridge chosen among RIDGES on the
  validation split; each class's row of W drawn as an image (plots/templates.png)."""
  dataset, splits = _flat_splits(config, "least_squares")
  x, y = splits["train"]
  val_x, val_y = splits["val"]

  def fit(ridge):
    weights, bias = linear.least_squares(x, y, dataset.num_classes, ridge)
    return np.asarray(weights), np.asarray(bias)

  def predict(solution, q):
    weights, bias = solution
    return (q @ weights + bias).argmax(-1)

  val_scores = [float(np.mean(predict(fit(ridge), val_x) == val_y)) for ridge in RIDGES]
  ridge = RIDGES[int(np.argmax(val_scores))]
  solution = fit(ridge)
  weights, _ = solution
  final = _accuracies(splits, lambda q: predict(solution, q))
  final["train_accuracy"] = float(np.mean(predict(solution, x) == y))
  image_shape = dataset.example_shapes["image"]
  plot = plots.image_grid(os.path.join(workdir, "plots", "templates.png"),
                          np.asarray(linear.templates(weights, image_shape)),
                          f"least-squares templates (ridge {ridge:g}): each class's row of W",
                          columns=min(dataset.num_classes, 10), captions=[str(c) for c in range(dataset.num_classes)])
  path = _write_summary(workdir, config, final, "least_squares",
                        {"ridge": ridge, "val_accuracy_by_ridge": dict(zip(map(str, RIDGES), val_scores))})
  return "\n".join([f"least squares on {x.shape[1]} pixels, ridge {ridge:g} (chosen on val)",
                    " ".join(f"{name}={value:.4f}" for name, value in sorted(final.items())), f"wrote {path}, {plot}"])
