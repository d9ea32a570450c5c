"""Modes that look inside a trained classifier run (its best checkpoint, by validation): nearest-neighbour
accuracy of its penultimate features (`--mode=knn_eval`) and the curvature of its loss (`--mode=hessian`).
Each writes a JSON file in the workdir and says where.
"""

import json
import os

import jax
import numpy as np

from jaxdl import registry
from jaxdl.analysis import curvature, features, kfold, knn
from jaxdl.config import Config
from jaxdl.errors import UsageError
from jaxdl.train import loop, plots
from jaxdl.train import state as state_lib

KNN_CANDIDATES = tuple((k, metric) for metric in knn.METRICS for k in (1, 3, 5, 10, 20))
CHUNK = 256  # examples through the network at a time (one compiled shape)


def _trained_classifier(config: Config, workdir: str, mode: str):
  """(setup, eval-mode variables, step) of the run's best checkpoint; the task must classify images."""
  if not hasattr(registry.tasks.get(config.task), "logits"):
    raise UsageError(f"--mode={mode} reads an image classifier's run; --task={config.task} is not one")
  setup, state, step = loop.restore_checkpoint(config, workdir, best=True)
  state = setup.parallel.to_global(state)
  return setup, {"params": state_lib.eval_params(state), **state.model_state}, step


def _split(setup, name: str) -> dict[str, np.ndarray]:
  source = setup.dataset.splits[name]
  return source.read(np.arange(len(source)))


def _in_chunks(fn, images) -> np.ndarray:
  """fn over `images` CHUNK rows at a time, the last chunk padded, concatenated."""
  out = []
  for start in range(0, len(images), CHUNK):
    chunk = images[start:start + CHUNK]
    padded = np.concatenate([chunk, np.zeros((CHUNK - len(chunk), *chunk.shape[1:]), chunk.dtype)])
    out.append(np.asarray(fn(padded))[:len(chunk)])
  return np.concatenate(out)


def knn_eval(config: Config, workdir: str) -> str:
  """Classifies the test split by its k nearest training examples in the network's penultimate features, k and
  the distance chosen by 5-fold cross-validation on the training split (the evaluation self-supervised
  representations get; the remainder of 5 examples sits cross-validation out); writes knn.json."""
  setup, variables, step = _trained_classifier(config, workdir, "knn_eval")
  embed = jax.jit(lambda x: features.penultimate(setup.task.model, variables, x, train=False)[1])
  train, test = _split(setup, "train"), _split(setup, "test")
  train_x, test_x = _in_chunks(embed, train["image"]), _in_chunks(embed, test["image"])
  num_classes, ks = setup.dataset.num_classes, sorted({k for k, _ in KNN_CANDIDATES})
  usable = len(train_x) - len(train_x) % 5  # equal folds: one compiled search per distance
  scores = {candidate: [] for candidate in KNN_CANDIDATES}
  for fit, val in kfold.folds(usable, 5, config.seed):
    for metric in knn.METRICS:
      nearest = np.asarray(knn.neighbours(train_x[fit], train_x[val], ks[-1], metric))
      for k in ks:
        votes = knn.vote(train["label"][fit][nearest[:, :k]], num_classes)
        scores[(k, metric)].append(float(np.mean(np.asarray(votes) == train["label"][val])))
  means = [float(np.mean(scores[candidate])) for candidate in KNN_CANDIDATES]
  k, metric = KNN_CANDIDATES[int(np.argmax(means))]
  guesses = knn.predict(train_x, train["label"], test_x, k, metric, num_classes)
  test_accuracy = float(np.mean(np.asarray(guesses) == test["label"]))
  report = {"step": step, "k": k, "metric": metric, "test_accuracy": test_accuracy, "features": train_x.shape[1],
            "cross_validation": {f"{kk}/{m}": mean for (kk, m), mean in zip(KNN_CANDIDATES, means)}}
  path = os.path.join(workdir, "knn.json")
  with open(path, "w") as f:
    json.dump(report, f, indent=2)
  return (f"step {step}: k={k} ({metric}, chosen by 5-fold cross-validation on train) "
          f"test_accuracy={test_accuracy:.4f} on {train_x.shape[1]} features\nwrote {path}")


def hessian(config: Config, workdir: str, examples: int = 512, iterations: int = 30) -> str:
  """The Ritz values of `iterations` Lanczos steps on the Hessian of the eval-mode loss over the first
  `examples` training examples at the best checkpoint: its largest and smallest eigenvalues and their ratio
  (hessian.json, plots/hessian.png)."""
  setup, variables, step = _trained_classifier(config, workdir, "hessian")
  batch = setup.dataset.splits["train"].read(np.arange(min(examples, len(setup.dataset.splits["train"]))))
  model_state = {k: v for k, v in variables.items() if k != "params"}

  def loss(params):
    return setup.task.eval_fn(params, model_state, batch)["loss"].mean()

  ritz = curvature.lanczos(loss, variables["params"], iterations, jax.random.PRNGKey(config.seed))
  report = {"step": step, "examples": len(batch["label"]), "ritz_values": ritz.tolist(),
            "largest": float(ritz[-1]), "smallest": float(ritz[0]),
            "condition_number": curvature.condition_number(ritz)}
  path = os.path.join(workdir, "hessian.json")
  with open(path, "w") as f:
    json.dump(report, f, indent=2)
  plot = plots.spectrum(os.path.join(workdir, "plots", "hessian.png"), ritz,
                        f"Hessian at step {step}: Ritz values of {len(ritz)} Lanczos steps")
  return (f"step {step}: largest eigenvalue {ritz[-1]:.4g}, smallest {ritz[0]:.4g}, condition number "
          f"{report['condition_number']:.4g}\nwrote {path}, {plot}")
