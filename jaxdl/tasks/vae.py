"""The variational autoencoder (`--task=vae`, Kingma & Welling, 2014) and beta-VAE (Higgins et al., 2017).

The encoder gives q(z | x) = N(mu, diag(sigma^2)); z = mu + sigma * eps with eps ~ N(0, I) (the
reparameterization trick: the sample is a differentiable function of mu and sigma); the loss is the negative
ELBO, reconstruction (Bernoulli negative log-likelihood of the pixels) + beta * KL(q(z | x) || N(0, I)) in
closed form, in nats per pixel. beta = 1 is the VAE; beta > 1 trades reconstruction for a more factorized code.

`--mode=sample` decodes `samples` draws from the prior (plots/samples.png) and also writes reconstructions
(plots/reconstructions.png) and a walk through the code between two test images (plots/interpolation.png).
With `judge`, `quality_samples` prior samples are scored after training, averaged over `quality_draws` draws
(`jaxdl.tasks.judging`).
"""

import dataclasses
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxdl import losses
from jaxdl.args import NonNegativeFloat, PositiveInt
from jaxdl.errors import UsageError
from jaxdl.registry import tasks
from jaxdl.tasks import judging
from jaxdl.tasks.contract import Samples


@dataclasses.dataclass(frozen=True)
class PriorSampleOptions:
  """--mode=sample draws from the prior with the task's own settings (--task_args samples)."""


def reparameterize(rng, mean, log_variance):
  """z = mu + sigma * eps, eps ~ N(0, I): a sample of N(mu, sigma^2) through which gradients reach mu and sigma."""
  return mean + jnp.exp(0.5 * log_variance) * jax.random.normal(rng, mean.shape, mean.dtype)


@tasks.register("vae")
@dataclasses.dataclass(frozen=True)
class VAE(judging.JudgeSettings):
  """`beta` weighs the KL term (1: the ELBO)."""

  model: nn.Module
  num_classes: int
  beta: NonNegativeFloat = 1.0
  samples: PositiveInt = 32

  train_metrics = ("loss", "reconstruction", "kl")
  monitor = "loss"  # the validation negative ELBO (per pixel) picks the best checkpoint
  monitor_mode = "min"

  def init(self, rng, batch) -> dict[str, Any]:
    if not getattr(self.model, "variational", False):
      raise UsageError("--task=vae needs a Gaussian encoder: --model=autoencoder --model_args=variational=true")
    return dict(self.model.init(rng, batch["image"]))

  def expected_initial_loss(self) -> float:
    """Logits near 0 give log 2 nats per pixel; the KL of a code near N(0, I) adds little."""
    return float(np.log(2))

  def terms(self, params, images, rng):
    """Per-example (reconstruction, KL), both in nats per pixel, for one draw of z per image."""
    mean, log_variance = self.model.apply({"params": params}, images, method="encode")
    z = reparameterize(rng, mean, log_variance)
    logits = self.model.apply({"params": params}, z, images.shape[1:], method="decode")
    pixels = int(np.prod(images.shape[1:]))
    return losses.bernoulli_nll(logits, images), losses.gaussian_kl(mean, log_variance) / pixels

  def loss_fn(self, params, model_state, batch, rng):
    del model_state
    reconstruction, kl = (x.mean() for x in self.terms(params, batch["image"], rng))
    loss = reconstruction + self.beta * kl
    return loss, ({"loss": loss, "reconstruction": reconstruction, "kl": kl}, {})

  def eval_fn(self, params, model_state, batch) -> dict[str, jax.Array]:
    """With a fixed draw of z per batch row, so that every evaluation compares alike."""
    del model_state
    reconstruction, kl = self.terms(params, batch["image"], jax.random.PRNGKey(0))
    return {"loss": reconstruction + self.beta * kl, "reconstruction": reconstruction, "kl": kl}

  def decode(self, params, z, image_shape):
    """Images in [0, 1]: the Bernoulli means sigmoid(decoder(z))."""
    return jax.nn.sigmoid(self.model.apply({"params": params}, z, image_shape, method="decode"))

  def generate(self, params, rng, count: int, image_shape):
    return self.decode(params, jax.random.normal(rng, (count, self.model.latent)), image_shape)

  def sample_fn(self, params, model_state, rng, workdir: str, options: PriorSampleOptions = PriorSampleOptions(),
                examples=None) -> Samples:
    del model_state, options
    images = np.asarray(examples["image"])
    shape = images.shape[1:]
    reconstructions = self.model.apply({"params": params}, images)
    pairs = np.stack([images, np.asarray(jax.nn.sigmoid(reconstructions))], axis=1).reshape(-1, *shape)
    mean, _ = self.model.apply({"params": params}, images[:2], method="encode")
    steps = jnp.linspace(0.0, 1.0, 10)[:, None]
    walk = np.asarray(self.decode(params, (1 - steps) * mean[0] + steps * mean[1], shape))
    prior = np.asarray(jax.jit(self.generate, static_argnums=(2, 3))(params, rng, self.samples, shape))
    extra = {"reconstructions": Samples("test images and their reconstructions", pairs,
                                        ("input", "reconstruction") * len(images), columns=8),
             "interpolation": Samples("decoded along the line between two test images' codes", walk, columns=10)}
    return Samples(f"{self.samples} samples from the prior N(0, I)", prior, columns=8, extra=extra)

  def final_metrics(self, params, model_state, dataset, rng) -> dict[str, float]:
    del model_state
    generate = jax.jit(self.generate, static_argnums=(2, 3))
    return judging.judge_generator(self, lambda key, n, shape, _: generate(params, key, n, shape), dataset, rng)
