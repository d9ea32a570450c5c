"""Modes that look inside a trained classifier run (its best checkpoint, by validation): nearest-neighbour
accuracy of its penultimate features (`--mode=knn_eval`), the curvature of its loss (`--mode=hessian`), its
accuracy under adversarial perturbations (`--mode=attack`) and pictures of what it looks at (`--mode=explain`).
Each writes its numbers in the workdir and says where.
"""

import json
import os

import jax
import numpy as np

from jaxdl import losses
from jaxdl.analysis import adversarial, curvature, features, knn, saliency, synthesis
from jaxdl.config import Config
from jaxdl.errors import UsageError
from jaxdl.train import loop, plots
from jaxdl.train import state as state_lib

CHUNK = 256  # examples through the network at a time (one compiled shape)


def _trained_classifier(config: Config, workdir: str):
  """(setup, eval parameters, model state, step) of the run's best checkpoint (of a `contract.Classifier` task:
  `jaxdl.modes.check_needs`)."""
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
  representations get); writes knn.json."""
  setup, params, model_state, step = _trained_classifier(config, workdir)
  variables = {"params": params, **model_state}
  embed = jax.jit(lambda x: features.penultimate(setup.task.model, variables, x, train=False)[1])
  train, test = _split(setup, "train"), _split(setup, "test")
  train_x, test_x = _in_chunks(embed, train["image"]), _in_chunks(embed, test["image"])
  k, metric, means = knn.choose(train_x, train["label"], setup.dataset.num_classes, seed=config.seed)
  guesses = knn.predict(train_x, train["label"], test_x, k, metric, setup.dataset.num_classes)
  test_accuracy = float(np.mean(np.asarray(guesses) == test["label"]))
  report = {"step": step, "k": k, "metric": metric, "test_accuracy": test_accuracy, "features": train_x.shape[1],
            "cross_validation": means}
  path = os.path.join(workdir, "knn.json")
  with open(path, "w") as f:
    json.dump(report, f, indent=2)
  return (f"step {step}: k={k} ({metric}, chosen by 5-fold cross-validation on train) "
          f"test_accuracy={test_accuracy:.4f} on {train_x.shape[1]} features\nwrote {path}")


def hessian(config: Config, workdir: str, examples: int = 512, iterations: int = 30) -> str:
  """The Ritz values of `iterations` Lanczos steps on the Hessian of the eval-mode loss over the first
  `examples` training examples at the best checkpoint: its largest and smallest eigenvalues and their ratio
  (hessian.json, plots/hessian.png)."""
  setup, params, model_state, step = _trained_classifier(config, workdir)
  _, batch = setup.dataset.first_examples(examples, "train")

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
  setup, params, model_state, step = _trained_classifier(config, workdir)
  _, test = setup.dataset.first_examples(count, "test")
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


EXPLAIN_METHODS = ("saliency", "cam", "gradcam", "classviz", "inversion")


def _unit(maps):
  """Each map (N, h, w) stretched to [0, 1] for display (a constant map becomes 0)."""
  low = maps.min(axis=(1, 2), keepdims=True)
  return (maps - low) / np.maximum(maps.max(axis=(1, 2), keepdims=True) - low, 1e-12)


def explain(config: Config, workdir: str, count: int = 8) -> str:
  """What the best checkpoint looks at, by --method: heat over the first `count` test images (saliency |dS_y/dx|,
  CAM or Grad-CAM of their label's score at --layer), one image per class that the network scores highest
  (classviz), or `count` test images rebuilt from --layer's output alone (inversion). --layer defaults to the
  last layer with a spatial output (`saliency.spatial_layers`). Writes plots/explain_METHOD.png."""
  setup, params, model_state, step = _trained_classifier(config, workdir)
  variables, model = {"params": params, **model_state}, setup.task.model
  split, examples = setup.dataset.first_examples(count)
  images, labels = examples["image"], examples["label"]
  train_images = _split(setup, "train")["image"]
  low, high = float(train_images.min()), float(train_images.max())
  rng = jax.random.PRNGKey(config.seed)

  def logits_fn(x):
    return setup.task.logits(params, model_state, {"image": x})

  layer = config.layer
  if config.method in ("cam", "gradcam", "inversion") and not layer:
    layers = saliency.spatial_layers(model, variables, images, train=False)
    if not layers:
      raise UsageError(f"--method={config.method} reads a spatial layer and {config.model} has none; name a layer "
                       "with --layer (--mode=summary lists them)")
    layer = layers[-1]
  where = f" at {layer}" if config.method in ("cam", "gradcam", "inversion") else ""
  path = os.path.join(workdir, "plots", f"explain_{config.method}.png")
  title = f"{config.method}{where}, step {step}"
  try:
    if config.method == "classviz":
      classes = np.arange(setup.dataset.num_classes)
      start = np.broadcast_to(train_images.mean(0), (len(classes), *train_images.shape[1:]))
      made = jax.jit(lambda s: synthesis.class_model(logits_fn, s, classes, rng, low=low, high=high))(start)
      chances = np.asarray(jax.nn.softmax(logits_fn(made)))[classes, classes]
      plots.image_grid(path, (np.asarray(made) - low) / (high - low), f"{title}: the image each class scores highest",
                       columns=min(len(classes), 10), captions=[f"{c}: p={p:.2f}" for c, p in zip(classes, chances)])
      return f"class models: p(class | its image) min {chances.min():.3f}, mean {chances.mean():.3f}\nwrote {path}"
    if config.method == "inversion":
      def represent(x):
        return saliency.layer_output(model, variables, x, layer, train=False)

      start = np.asarray(jax.random.uniform(rng, images.shape, minval=low, maxval=high))
      made = jax.jit(lambda s: synthesis.invert(represent, represent(images), s, rng, low=low, high=high))(start)
      target = represent(images).reshape(len(images), -1)
      gaps = np.linalg.norm(represent(made).reshape(len(images), -1) - target, axis=1) / np.linalg.norm(target, axis=1)
      plots.image_grid(path, (np.concatenate([images, np.asarray(made)]) - low) / (high - low),
                       f"{title} (top: {split} images, bottom: rebuilt from noise)", columns=len(images))
      return f"relative feature error of the rebuilt images: mean {gaps.mean():.4f}, max {gaps.max():.4f}\nwrote {path}"
    if config.method == "saliency":
      maps = np.abs(np.asarray(jax.jit(lambda x: saliency.saliency(logits_fn, x, labels))(images))).max(-1)
    else:
      method = saliency.class_activation_map if config.method == "cam" else saliency.grad_cam
      maps = jax.jit(lambda x: method(model, variables, x, labels, layer, train=False))(images)
  except ValueError as e:  # a layer that is not there, CAM on a model not pooled into one linear layer
    raise UsageError(f"--mode=explain --method={config.method}: {e}") from None
  predictions = np.asarray(logits_fn(images)).argmax(-1)
  plots.overlays(path, (images - low) / (high - low), _unit(np.asarray(maps)), f"{title} on the first {split} images",
                 [f"label {y}, predicted {p}" for y, p in zip(labels, predictions)])
  return f"wrote {path}"
