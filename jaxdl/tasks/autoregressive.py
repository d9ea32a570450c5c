"""Autoregressive likelihood of binarized images (`--task=autoregressive`, PixelCNN): p(x) = prod_i
p(x_i | x_<i) in raster order, each factor a Bernoulli from the model's logit for pixel i, which a causally
masked model computes for all pixels in one pass. Loss: negative log-likelihood in nats per pixel; reported
in bits per dimension. Sampling draws the pixels one at a time, each pass conditioned on those drawn so far.

Pixels are binarized at 1/2 (digits are near-binary ink).
"""

import dataclasses
import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxdl import losses
from jaxdl.args import PositiveInt
from jaxdl.registry import tasks
from jaxdl.tasks.contract import Samples


@dataclasses.dataclass(frozen=True)
class RasterSampleOptions:
  """--mode=sample draws `samples` images with the task's settings."""


def binarize(images):
  return (images > 0.5).astype(jnp.float32)


@tasks.register("autoregressive")
@dataclasses.dataclass(frozen=True)
class Autoregressive:
  """`samples`: images per --mode=sample grid."""

  model: nn.Module
  num_classes: int
  samples: PositiveInt = 32

  train_metrics = ("loss", "bits_per_dim")
  monitor = "bits_per_dim"
  monitor_mode = "min"

  def init(self, rng, batch) -> dict[str, Any]:
    return dict(self.model.init(rng, binarize(batch["image"])))

  def expected_initial_loss(self) -> float:
    """Logits near 0: every pixel 1/2, log 2 nats."""
    return math.log(2)

  def nll(self, params, images):
    """Per-example negative log-likelihood in nats per pixel (B,)."""
    x = binarize(images)
    return losses.bernoulli_nll(self.model.apply({"params": params}, x), x)

  def loss_fn(self, params, model_state, batch, rng):
    del model_state, rng
    loss = self.nll(params, batch["image"]).mean()
    return loss, ({"loss": loss, "bits_per_dim": loss / math.log(2)}, {})

  def eval_fn(self, params, model_state, batch) -> dict[str, jax.Array]:
    del model_state
    nats = self.nll(params, batch["image"])
    return {"loss": nats, "bits_per_dim": nats / math.log(2)}

  def generate(self, params, rng, shape):
    """Images (N, H, W, 1) drawn pixel by pixel in raster order: H * W passes of the model in one `fori_loop`."""
    _, height, width, _ = shape

    def draw(i, x):
      row, column = i // width, i % width
      logits = self.model.apply({"params": params}, x)[:, row, column]
      pixel = jax.random.bernoulli(jax.random.fold_in(rng, i), jax.nn.sigmoid(logits)).astype(x.dtype)
      return x.at[:, row, column].set(pixel)

    return jax.lax.fori_loop(0, height * width, draw, jnp.zeros(shape, jnp.float32))

  def sample_fn(self, params, model_state, rng, workdir: str, options: RasterSampleOptions = RasterSampleOptions(),
                examples=None) -> Samples:
    del model_state, workdir, options
    shape = (self.samples, *examples["image"].shape[1:])
    images = np.asarray(jax.jit(self.generate, static_argnums=2)(params, rng, shape))
    return Samples(f"{self.samples} samples drawn pixel by pixel", images, columns=8)
