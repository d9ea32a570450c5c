"""Generative adversarial networks (`--task=gan`, Goodfellow et al., 2014): the discriminator D maximizes
log D(x) + log(1 - D(G(z))) and the generator G minimizes log(1 - D(G(z))) (the minimax game) or, as the
notes recommend for its stronger early gradients, maximizes log D(G(z)) (`loss=non_saturating`).

Both networks take one step each training step, inside the loop's one jitted step (the task owns its update,
`contract.OwnsUpdate`): each is differentiated through its own loss only, and each has its own optimizer
state (the flags' optimizer, one copy per network). `conditional=true` gives both networks the label (CGAN).
GAN losses say little about sample quality: the judge's Fréchet distance (`judge=jaxdl:digits`, or a classifier
run's `judge=RUN_DIR`) does, computed after training; checkpoints are ranked by the validation generator loss.
"""

import dataclasses
import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxdl.args import NonNegativeFloat, PositiveInt, Probability
from jaxdl.errors import UsageError
from jaxdl.registry import tasks
from jaxdl.tasks import judging
from jaxdl.tasks.contract import Samples

_LOSSES = ("non_saturating", "minimax")


@dataclasses.dataclass(frozen=True)
class GANSampleOptions:
  """--mode=sample draws `samples` images with the task's settings."""


def discriminator_loss(real_logits, fake_logits, smoothing: float = 0.0):
  """-[log D(x) + log(1 - D(G(z)))] per example, with D = sigmoid(logit): log(1 - sigmoid(s)) = log_sigmoid(-s).
  One-sided label smoothing (Salimans et al., 2016) makes the real images' target 1 - `smoothing` instead of 1,
  so that D gains nothing by growing ever surer of them."""
  real = (1 - smoothing) * jax.nn.log_sigmoid(real_logits) + smoothing * jax.nn.log_sigmoid(-real_logits)
  return -(real + jax.nn.log_sigmoid(-fake_logits))


def generator_loss(fake_logits, kind: str):
  """minimax: log(1 - D(G(z))) (minimized); non_saturating: -log D(G(z))."""
  if kind == "minimax":
    return jax.nn.log_sigmoid(-fake_logits)
  return -jax.nn.log_sigmoid(fake_logits)


@tasks.register("gan")
@dataclasses.dataclass(frozen=True)
class GAN(judging.JudgeSettings):
  """`loss` non_saturating|minimax for the generator; `conditional` (CGAN); `smoothing`: one-sided label smoothing of
  the discriminator's real targets; `r1`: weight gamma of the R1 penalty; `samples` per grid (--mode=sample, and
  plots/samples/ at every evaluation while `samples_each_eval`); `judge` / `quality_samples` / `quality_draws` as
  for the other generators."""

  model: nn.Module
  num_classes: int
  loss: str = "non_saturating"
  conditional: bool = False
  smoothing: Probability = 0.0
  r1: NonNegativeFloat = 0.0
  samples: PositiveInt = 40
  samples_each_eval: bool = True

  train_metrics = ("loss", "generator_loss", "d_real", "d_fake")
  monitor = "generator_loss"
  monitor_mode = "min"

  def __post_init__(self):
    if self.loss not in _LOSSES:
      raise UsageError(f"--task_args loss={self.loss!r}; choose one of: {', '.join(_LOSSES)}")

  def _labels(self, batch):
    return batch["label"] if self.conditional else None

  def init(self, rng, batch) -> dict[str, Any]:
    images = batch["image"]
    return dict(self.model.init(rng, images, jnp.zeros((images.shape[0], self.model.latent)), self._labels(batch)))

  def expected_initial_loss(self) -> float:
    """An undecided discriminator (D = 1/2 everywhere) loses 2 log 2."""
    return 2 * math.log(2)

  def _losses(self, params, batch, rng):
    """(discriminator loss (B,), generator loss (B,), D(x), D(G(z))) for one draw of z per image. With `r1`,
    D's loss adds Mescheder et al.'s (2018) R1 penalty gamma/2 ||grad_x D-logit(x)||^2 on real images, which
    keeps D from steepening around the data (what lets it overpower G)."""
    images, labels = batch["image"], self._labels(batch)
    z = jax.random.normal(rng, (images.shape[0], self.model.latent))
    fake = self.model.apply({"params": params}, z, labels, images.shape[1:], method="generate")
    discriminate = lambda x: self.model.apply({"params": params}, x, labels, method="discriminate")  # noqa: E731
    real_logits, pullback = jax.vjp(discriminate, images)
    fake_logits = discriminate(fake)
    d_loss = discriminator_loss(real_logits, fake_logits, self.smoothing)
    if self.r1:  # each image's logit depends on that image only, so one pullback gives every per-image gradient
      slopes = pullback(jnp.ones_like(real_logits))[0]
      d_loss += self.r1 / 2 * jnp.square(slopes).reshape(slopes.shape[0], -1).sum(-1)
    return (d_loss, generator_loss(fake_logits, self.loss),
            jax.nn.sigmoid(real_logits), jax.nn.sigmoid(fake_logits))

  def _metrics(self, d_loss, g_loss, d_real, d_fake):
    return {"loss": d_loss.mean(), "generator_loss": g_loss.mean(), "d_real": d_real.mean(), "d_fake": d_fake.mean()}

  def loss_fn(self, params, model_state, batch, rng):
    """The discriminator's loss (what the initial-loss check reads); the update is `grad_fn`'s."""
    d_loss, g_loss, d_real, d_fake = self._losses(params, batch, rng)
    return d_loss.mean(), (self._metrics(d_loss, g_loss, d_real, d_fake), {})

  def grad_fn(self, params, model_state, batch, rng):
    """Each network's gradient of its own loss, on the same z: D's with G fixed, G's with D fixed."""
    def own(which, index):
      def loss(p):
        terms = self._losses({**params, which: p}, batch, rng)
        return terms[index].mean(), terms
      return jax.grad(loss, has_aux=True)(params[which])

    d_grads, terms = own("discriminator", 0)
    g_grads, _ = own("generator", 1)
    return {"discriminator": d_grads, "generator": g_grads}, (self._metrics(*terms), {})

  def optimizer(self, tx: optax.GradientTransformation) -> optax.GradientTransformation:
    return optax.multi_transform({"generator": tx, "discriminator": tx}, lambda params: {k: k for k in params})

  def eval_fn(self, params, model_state, batch) -> dict[str, jax.Array]:
    """Per example, with a fixed z per batch row."""
    del model_state
    d_loss, g_loss, d_real, d_fake = self._losses(params, batch, jax.random.PRNGKey(0))
    return {"loss": d_loss, "generator_loss": g_loss, "d_real": d_real, "d_fake": d_fake}

  def generate(self, params, rng, count: int, image_shape, labels=None):
    z = jax.random.normal(rng, (count, self.model.latent))
    return self.model.apply({"params": params}, z, labels, image_shape, method="generate")

  def sample_fn(self, params, model_state, rng, workdir: str, options: GANSampleOptions = GANSampleOptions(),
                examples=None) -> Samples:
    """A conditional generator draws labels 0, 1, ... in turn, one class per grid column."""
    del model_state, workdir, options
    labels = jnp.arange(self.samples) % self.num_classes if self.conditional else None
    shape = examples["image"].shape[1:]
    images = np.asarray(jax.jit(self.generate, static_argnums=(2, 3))(params, rng, self.samples, shape, labels))
    captions = tuple(f"label {y}" for y in np.asarray(labels)) if labels is not None else ()
    return Samples(f"{self.samples} samples", images, captions,
                   columns=self.num_classes if self.conditional else 8)

  def final_metrics(self, params, model_state, dataset, rng) -> dict[str, float]:
    del model_state
    generate = jax.jit(self.generate, static_argnums=(2, 3))
    return judging.judge_generator(self, lambda key, n, shape, y: generate(params, key, n, shape, y), dataset, rng,
                                   self.conditional)
