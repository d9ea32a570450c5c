"""The noise-aware classifier of classifier guidance (Dhariwal & Nichol, 2021): p(y | x_t, t) learned on images
noised by a diffusion schedule at a uniformly drawn step, so that its gradient points somewhere useful at every
step of sampling. A diffusion run takes the trained run as `--task_args classifier=RUN_DIR`.

The model is called as `model(x_t, t, train=False) -> logits` (`unet_classifier`); images in [0, 1] are mapped
to [-1, 1] as the diffusion task maps them.
"""

import dataclasses
import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxdl import diffusion, losses
from jaxdl.registry import tasks
from jaxdl.tasks import noising


@tasks.register("noisy_classify")
@dataclasses.dataclass(frozen=True)
class NoisyClassify(noising.NoiseSettings):
  """`schedule` / `steps`: the noise of the diffusion runs it will guide (they must match, and are checked)."""

  model: nn.Module
  num_classes: int

  train_metrics = ("loss", "accuracy")
  monitor = "accuracy"  # over all noise levels, most of which leave little to see
  monitor_mode = "max"

  def init(self, rng, batch) -> dict[str, Any]:
    params_rng, dropout_rng = jax.random.split(rng)
    x = batch["image"]
    return dict(self.model.init({"params": params_rng, "dropout": dropout_rng}, x, jnp.zeros(x.shape[:1], jnp.int32)))

  def expected_initial_loss(self) -> float:
    return math.log(self.num_classes)

  def _noised(self, batch, rng):
    """(x_t, t) for a uniform step per image."""
    t_rng, noise_rng = jax.random.split(rng)
    x0 = 2 * batch["image"] - 1
    t = jax.random.randint(t_rng, x0.shape[:1], 0, self.steps)
    return diffusion.q_sample(self.noise_schedule, x0, t, jax.random.normal(noise_rng, x0.shape)), t

  def _per_example(self, logits, labels):
    return losses.softmax_cross_entropy(logits, labels), (logits.argmax(-1) == labels).astype(jnp.float32)

  def loss_fn(self, params, model_state, batch, rng):
    del model_state
    noise_rng, dropout_rng = jax.random.split(rng)
    x_t, t = self._noised(batch, noise_rng)
    logits = self.model.apply({"params": params}, x_t, t, train=True, rngs={"dropout": dropout_rng})
    loss, correct = self._per_example(logits, batch["label"])
    return loss.mean(), ({"loss": loss.mean(), "accuracy": correct.mean()}, {})

  def eval_fn(self, params, model_state, batch) -> dict[str, jax.Array]:
    """Per example at a fixed draw of (t, noise) per batch row, the same at every evaluation."""
    del model_state
    x_t, t = self._noised(batch, jax.random.PRNGKey(0))
    loss, correct = self._per_example(self.model.apply({"params": params}, x_t, t), batch["label"])
    return {"loss": loss, "accuracy": correct}

  def log_prob(self, params, x_t, t, labels) -> jax.Array:
    """log p(labels | x_t, t) per example (B,): what guidance differentiates with respect to x_t."""
    return -losses.softmax_cross_entropy(self.model.apply({"params": params}, x_t, t), labels)
