"""Image classification: cross-entropy (optionally label-smoothed) or multiclass SVM loss, accuracy."""

import dataclasses
import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxdl.args import NonNegativeFloat, Probability
from jaxdl import losses
from jaxdl.analysis import rollout
from jaxdl.errors import UsageError
from jaxdl.registry import tasks
from jaxdl.tasks.contract import AttentionMaps

_LOSSES = ("cross_entropy", "hinge")


@tasks.register("classify")
@dataclasses.dataclass(frozen=True)
class Classify:
  """`--task_args` set the fields after `num_classes`."""

  model: nn.Module
  num_classes: int
  loss: str = "cross_entropy"
  label_smoothing: Probability = 0.0
  l1: NonNegativeFloat = 0.0  # weight of sum |w|
  l2: NonNegativeFloat = 0.0  # weight of sum w^2 (the notes' lambda R(W))
  aux_weight: NonNegativeFloat = 0.3  # auxiliary classifiers' loss weight (GoogLeNet, Szegedy et al. 2014)
  tta_flip: bool = False  # evaluate on the mean logits of each image and its mirror image

  train_metrics = ("loss", "accuracy")  # what loss_fn reports, summed between log rows
  monitor = "accuracy"  # the eval metric that picks the best checkpoint
  monitor_mode = "max"

  def __post_init__(self):
    if self.loss not in _LOSSES:
      raise UsageError(f"--task_args loss={self.loss!r}; choose one of: {', '.join(_LOSSES)}")

  def init(self, rng, batch) -> dict[str, Any]:
    params_rng, dropout_rng = jax.random.split(rng)
    variables = self.model.init({"params": params_rng, "dropout": dropout_rng}, batch["image"], train=False)
    return dict(variables)

  def _per_example_loss(self, logits, labels, targets=None):
    """Against integer labels, or the soft `targets` that mixup/cutmix leave in the batch."""
    if self.loss == "hinge":
      if targets is not None:
        raise UsageError("--augment mixup/cutmix make soft labels, which need --task_args=loss=cross_entropy")
      return losses.multiclass_hinge(logits, labels)
    if targets is not None:
      return losses.soft_cross_entropy(logits, targets, self.label_smoothing)
    return losses.softmax_cross_entropy(logits, labels, self.label_smoothing)

  def expected_initial_loss(self) -> float:
    """The loss of near-zero scores: log(C) for softmax, C - 1 margins of 1 for the SVM."""
    return float(self.num_classes - 1) if self.loss == "hinge" else math.log(self.num_classes)

  def loss_fn(self, params, model_state, batch, rng):
    variables = {"params": params, **model_state}
    out, new_state = self.model.apply(variables, batch["image"], train=True, rngs={"dropout": rng},
                                      mutable=list(model_state))
    logits, aux = out if isinstance(out, tuple) else (out, [])  # models with auxiliary heads return both
    targets = batch.get("targets")
    loss = self._per_example_loss(logits, batch["label"], targets).mean()
    for aux_logits in aux:
      loss += self.aux_weight * self._per_example_loss(aux_logits, batch["label"], targets).mean()
    if self.l1:
      loss += self.l1 * losses.l1_penalty(params)
    if self.l2:
      loss += self.l2 * losses.l2_penalty(params)
    accuracy = (logits.argmax(-1) == batch["label"]).mean()
    return loss, ({"loss": loss, "accuracy": accuracy}, dict(new_state))

  def logits(self, params, model_state, batch) -> jax.Array:
    """Eval-mode scores, averaged with the mirror image's under `tta_flip`."""
    variables = {"params": params, **model_state}
    logits = self.model.apply(variables, batch["image"], train=False)
    if self.tta_flip:
      logits = (logits + self.model.apply(variables, batch["image"][:, :, ::-1], train=False)) / 2
    return logits

  def eval_fn(self, params, model_state, batch) -> dict[str, jax.Array]:
    logits = self.logits(params, model_state, batch)
    return {"loss": self._per_example_loss(logits, batch["label"]),
            "accuracy": (logits.argmax(-1) == batch["label"]).astype(jnp.float32)}

  def ensemble_fn(self, members, batch) -> dict[str, jax.Array]:
    """Per-example metrics of the mean of the members' softmax probabilities; members = [(params, state)]."""
    probs = jnp.mean(jnp.stack([jax.nn.softmax(self.logits(p, s, batch)) for p, s in members]), axis=0)
    picked = jnp.take_along_axis(probs, batch["label"][:, None], axis=-1)[:, 0]
    return {"loss": -jnp.log(jnp.maximum(picked, 1e-12)),  # the ensemble's negative log-likelihood
            "accuracy": (probs.argmax(-1) == batch["label"]).astype(jnp.float32)}

  def attention_maps(self, params, model_state, batch, workdir: str) -> AttentionMaps:
    """The class token's attention rollout over the image's patches (models with `num_prefix_tokens` class /
    distillation tokens before the patch tokens: ViT, DeiT), captioned with label and prediction."""
    del workdir
    prefix = getattr(self.model, "num_prefix_tokens", None)
    if prefix is None:
      raise UsageError(f"--mode=attention_maps draws a class token's attention rollout; {type(self.model).__name__} "
                       "has no class token")

    @jax.jit
    def flow(variables, images):
      logits, state = self.model.apply(variables, images, train=False, mutable=["intermediates"])
      return logits, rollout.attention_rollout(rollout.sown_layers(state["intermediates"]))[:, 0, prefix:]

    images = np.asarray(batch["image"])
    logits, maps = flow({"params": params, **model_state}, images)
    _, height, width, _ = images.shape
    rows = round(math.sqrt(maps.shape[1] * height / width))
    maps = np.asarray(maps).reshape(len(images), rows, -1)
    maps = maps / maps.max(axis=(1, 2), keepdims=True)
    captions = tuple(f"label {y}, predicted {p}" for y, p in zip(np.asarray(batch["label"]),
                                                                 np.asarray(logits).argmax(-1)))
    return AttentionMaps(maps, images=images, captions=captions)
