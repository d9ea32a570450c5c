"""Modes that look inside a trained classifier run (its best checkpoint, by validation): nearest-neighbour
accuracy of its penultimate features (`--mode=knn_eval`), the curvature of its loss (`--mode=hessian`) and its
accuracy under adversarial perturbations (`--mode=attack`). Each writes its numbers in the workdir and says where.
"""

import json
import os

import jax
import numpy as np

from jaxdl import registry
from jaxdl import losses
from jaxdl.analysis import adversarial, curvature, features, kfold, knn
from jaxdl.config import Config
from jaxdl.errors import UsageError
from jaxdl.train import loop, plots
from jaxdl.train import state as state_lib

KNN_CANDIDATES = tuple((k, metric) for metric in knn.METRICS for k in (1, 3, 5, 10, 20))
CHUNK = 256  # examples through the network at a time (one compiled shape)


def _trained_classifier(config: Config, workdir: str, mode: str):
  """(setup, eval parameters, model state, step) of the run's best checkpoint; the task must classify images."""
  if not hasattr(registry.tasks.get(config.task), "logits"):
    raise UsageError(f"--mode={mode} reads an image classifier's run; --task={config.task} is not one")
  setup, state, step = loop.restore_checkpoint(config, workdir, best=True)
  state = setup.parallel.to_global(state)
  return setup, state_lib.eval_params(state), state.model_state, step


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
  setup, params, model_state, step = _trained_classifier(config, workdir, "knn_eval")
  variables = {"params": params, **model_state}
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
  setup, params, model_state, step = _trained_classifier(config, workdir, "hessian")
  batch = setup.dataset.splits["train"].read(np.arange(min(examples, len(setup.dataset.splits["train"]))))

  def loss(params):
    return setup.task.eval_fn(params, model_state, batch)["loss"].mean()

  ritz = curvature.lanczos(loss, params, iterations, jax.random.PRNGKey(config.seed))
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


ATTACK_EPSILONS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2)


def attack(config: Config, workdir: str, count: int = 512, pgd_steps: int = 10) -> str:
  """Accuracy on the first `count` test images perturbed by FGSM and by PGD (`pgd_steps` steps of epsilon / 4
  from a random start) at each epsilon of ATTACK_EPSILONS, in L-infinity and clipped to the split's pixel range;
  added to summary.json as "attack" and drawn in plots/attack.png."""
  setup, params, model_state, step = _trained_classifier(config, workdir, "attack")
  test = setup.dataset.splits["test"].read(np.arange(min(count, len(setup.dataset.splits["test"]))))
  images, labels = test["image"], test["label"]
  low, high = float(images.min()), float(images.max())

  def logits_fn(x):
    return setup.task.logits(params, model_state, {"image": x})

  def loss_fn(x, y):
    return losses.softmax_cross_entropy(logits_fn(x), y)

  @jax.jit
  def accuracies(epsilon):
    perturbed = {"fgsm": adversarial.fgsm(loss_fn, images, labels, epsilon, low, high),
                 "pgd": adversarial.pgd(loss_fn, images, labels, epsilon, epsilon / 4, pgd_steps,
                                        jax.random.PRNGKey(config.seed), low, high)}
    return {name: (logits_fn(x).argmax(-1) == labels).mean()
            for name, x in perturbed.items()}

  table = {name: [] for name in ("fgsm", "pgd")}
  for epsilon in ATTACK_EPSILONS:
    for name, value in accuracies(epsilon).items():
      table[name].append(float(value))
  report = {"step": step, "examples": len(labels), "epsilons": list(ATTACK_EPSILONS), "pgd_steps": pgd_steps,
            "accuracy": table}
  summary_path = os.path.join(workdir, "summary.json")
  summary = {}
  if os.path.exists(summary_path):
    with open(summary_path) as f:
      summary = json.load(f)
  with open(summary_path, "w") as f:
    json.dump({**summary, "attack": report}, f, indent=2)
  plot = plots.curves(os.path.join(workdir, "plots", "attack.png"), ATTACK_EPSILONS, table, "epsilon (L-infinity)",
                      "test accuracy", f"step {step} under attack ({len(labels)} test images)")
  rows = [f"epsilon {e:g}: fgsm {f:.4f} pgd {p:.4f}" for e, f, p in zip(ATTACK_EPSILONS, table["fgsm"], table["pgd"])]
  return "\n".join(rows + [f"wrote {summary_path} (\"attack\"), {plot}"])
