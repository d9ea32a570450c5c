"""Autoencoders (`--task=autoencode`): reconstruct the image through a small code, with the notes' variants:
a sparse code (an L1 penalty on it, or a KL penalty pulling each unit's mean sigmoid activation to a target
rate rho) and denoising (the encoder sees a corrupted image, the loss compares with the clean one).

The model is any `encode(x)` / `decode(z, image_shape)` pair (`--model=autoencoder`); the reconstruction loss
is the Bernoulli negative log-likelihood of the pixels in nats per pixel (`loss=bce`) or their mean squared
error (`loss=mse`).
"""

import dataclasses
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxdl import losses
from jaxdl.args import NonNegativeFloat, OpenUnit, Probability
from jaxdl.errors import UsageError
from jaxdl.registry import tasks
from jaxdl.tasks.contract import Samples

_LOSSES = ("bce", "mse")
_SPARSITY = ("none", "l1", "kl")
_NOISE = ("none", "gaussian", "mask")


@dataclasses.dataclass(frozen=True)
class ReconstructionOptions:
  """--mode=sample shows the first test images beside their reconstructions (no settings of its own)."""


def corrupt(rng, images, kind: str, level: float):
  """The denoising autoencoder's input: `gaussian` adds N(0, level^2) noise (clipped to [0, 1]), `mask` zeroes
  each pixel with probability `level`, `none` returns the images."""
  if kind == "gaussian":
    return jnp.clip(images + level * jax.random.normal(rng, images.shape, images.dtype), 0.0, 1.0)
  if kind == "mask":
    return jnp.where(jax.random.bernoulli(rng, level, images.shape), 0.0, images)
  return images


@tasks.register("autoencode")
@dataclasses.dataclass(frozen=True)
class Autoencode:
  """`sparsity=l1|kl` with weight `sparsity_weight` (and `sparsity_target` rho for kl); `noise=gaussian|mask`
  at `noise_level` for a denoising autoencoder."""

  model: nn.Module
  num_classes: int
  loss: str = "bce"
  sparsity: str = "none"
  sparsity_weight: NonNegativeFloat = 1e-3
  sparsity_target: OpenUnit = 0.05
  noise: str = "none"
  noise_level: Probability = 0.3

  train_metrics = ("loss", "reconstruction")
  monitor = "reconstruction"  # validation reconstruction loss picks the best checkpoint
  monitor_mode = "min"

  def __post_init__(self):
    for name, value, choices in (("loss", self.loss, _LOSSES), ("sparsity", self.sparsity, _SPARSITY),
                                 ("noise", self.noise, _NOISE)):
      if value not in choices:
        raise UsageError(f"--task_args {name}={value!r}; choose one of: {', '.join(choices)}")
    if getattr(self.model, "variational", False):
      raise UsageError("--task=autoencode trains a deterministic code; a variational model trains with --task=vae")

  def init(self, rng, batch) -> dict[str, Any]:
    return dict(self.model.init(rng, batch["image"]))

  def expected_initial_loss(self) -> float:
    """Logits near 0 predict every pixel as 1/2: log 2 nats per pixel whatever the pixel (bce); the mean
    squared distance of pixels in [0, 1] from 1/2 is at most 1/4 (mse; mostly dark digits: about 0.15)."""
    return float(np.log(2)) if self.loss == "bce" else 0.15

  def reconstruction_loss(self, logits, images):
    """Per example (B,)."""
    if self.loss == "bce":
      return losses.bernoulli_nll(logits, images)
    return losses.mean_squared_error(jax.nn.sigmoid(logits), images)

  def penalty(self, code):
    """The sparsity penalty of a batch of codes (B, latent), weighted."""
    if self.sparsity == "l1":
      return self.sparsity_weight * jnp.abs(code).sum(-1).mean()
    if self.sparsity == "kl":
      return self.sparsity_weight * losses.sparsity_kl(jax.nn.sigmoid(code), self.sparsity_target)
    return 0.0

  def loss_fn(self, params, model_state, batch, rng):
    del model_state
    images = batch["image"]
    code = self.model.apply({"params": params}, corrupt(rng, images, self.noise, self.noise_level),
                            method="encode")
    logits = self.model.apply({"params": params}, code, images.shape[1:], method="decode")
    reconstruction = self.reconstruction_loss(logits, images).mean()
    loss = reconstruction + self.penalty(code)
    return loss, ({"loss": loss, "reconstruction": reconstruction}, {})

  def eval_fn(self, params, model_state, batch) -> dict[str, jax.Array]:
    del model_state
    logits = self.model.apply({"params": params}, batch["image"])
    return {"reconstruction": self.reconstruction_loss(logits, batch["image"])}

  def sample_fn(self, params, model_state, rng, workdir: str, options: ReconstructionOptions = ReconstructionOptions(),
                examples=None) -> Samples:
    """The first test images, each followed by its reconstruction (of the corrupted image when denoising)."""
    del model_state, workdir, options
    images = np.asarray(examples["image"])
    seen = corrupt(rng, images, self.noise, self.noise_level)
    reconstructions = jax.nn.sigmoid(self.model.apply({"params": params}, seen))
    pairs = np.stack([np.asarray(seen), np.asarray(reconstructions)], axis=1).reshape(-1, *images.shape[1:])
    captions = ("input", "reconstruction") * len(images)
    return Samples(f"{len(images)} test images and their reconstructions", pairs, captions, columns=8)
