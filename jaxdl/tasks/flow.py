"""Exact likelihood of images under a normalizing flow (`--task=flow`, RealNVP): log p(x) = log N(f(x); 0, I)
+ log |det df/dx|, for the invertible model f (`__call__(x) -> (z, log_det)`, `inverse(z) -> x`).

Pixels are discrete, `levels` values k / (levels - 1) (17 for the bundled digits, 256 for 8-bit images): each is
dequantized to y = (k + u) / levels with u ~ U[0, 1), and y is mapped to the real line by
logit(alpha + (1 - 2 alpha) y) (Dinh et al.), whose log-derivative joins the log-determinant. The negative
log-likelihood of the discrete image is then -log p(y) + D log(levels) (each pixel's bin has width 1 / levels),
reported in bits per dimension, the unit PixelCNN reports in.
"""

import dataclasses
import math
from typing import Annotated, Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import scipy.integrate

from jaxdl.args import PositiveInt, Range
from jaxdl.registry import tasks
from jaxdl.tasks.contract import Samples

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


@dataclasses.dataclass(frozen=True)
class FlowSampleOptions:
  """--mode=sample inverts `samples` draws of N(0, I) with the task's settings."""


@tasks.register("flow")
@dataclasses.dataclass(frozen=True)
class Flow:
  """`levels`: pixel values in the data (17 for the digits); `alpha`: the logit transform's margin."""

  model: nn.Module
  num_classes: int
  levels: Annotated[int, Range(2)] = 256
  alpha: Annotated[float, Range(0, 0.5, low_open=True, high_open=True)] = 0.05
  samples: PositiveInt = 32

  train_metrics = ("loss", "bits_per_dim")
  monitor = "bits_per_dim"
  monitor_mode = "min"

  def to_logits(self, images, noise):
    """Dequantized, squashed and logit-transformed images, and the log-derivative of the last two steps (B,)."""
    y = (jnp.round(images * (self.levels - 1)) + noise) / self.levels
    squashed = self.alpha + (1 - 2 * self.alpha) * y
    log_derivative = math.log(1 - 2 * self.alpha) - jnp.log(squashed) - jnp.log1p(-squashed)
    return jnp.log(squashed) - jnp.log1p(-squashed), log_derivative.reshape(images.shape[0], -1).sum(-1)

  def from_logits(self, x):
    return jnp.clip((jax.nn.sigmoid(x) - self.alpha) / (1 - 2 * self.alpha), 0.0, 1.0)

  def init(self, rng, batch) -> dict[str, Any]:
    return dict(self.model.init(rng, batch["image"]))

  def expected_initial_loss(self) -> float:
    """The identity flow (every coupling starts as one) on uniformly distributed pixels, in nats per dimension:
    E_y[0.5 log 2 pi + logit(y')^2 / 2 + log(y' (1 - y')) - log(1 - 2 alpha)] + log(levels), y' = alpha +
    (1 - 2 alpha) y."""
    def integrand(y):
      s = self.alpha + (1 - 2 * self.alpha) * y
      return _HALF_LOG_2PI + math.log(s / (1 - s)) ** 2 / 2 + math.log(s * (1 - s)) - math.log(1 - 2 * self.alpha)
    return scipy.integrate.quad(integrand, 0.0, 1.0)[0] + math.log(self.levels)

  def nll(self, params, images, rng):
    """Per-example negative log-likelihood of the discrete images, in nats per dimension (B,)."""
    x, log_derivative = self.to_logits(images, jax.random.uniform(rng, images.shape))
    z, log_det = self.model.apply({"params": params}, x)
    log_prior = -(_HALF_LOG_2PI + 0.5 * jnp.square(z)).reshape(z.shape[0], -1).sum(-1)
    dims = int(np.prod(images.shape[1:]))
    return (-(log_prior + log_det + log_derivative) + dims * math.log(self.levels)) / dims

  def loss_fn(self, params, model_state, batch, rng):
    del model_state
    loss = self.nll(params, batch["image"], rng).mean()
    return loss, ({"loss": loss, "bits_per_dim": loss / math.log(2)}, {})

  def eval_fn(self, params, model_state, batch) -> dict[str, jax.Array]:
    """With a fixed dequantization noise per batch row, so that evaluations compare alike."""
    del model_state
    nats = self.nll(params, batch["image"], jax.random.PRNGKey(0))
    return {"loss": nats, "bits_per_dim": nats / math.log(2)}

  def generate(self, params, rng, shape):
    return self.from_logits(self.model.apply({"params": params}, jax.random.normal(rng, shape), method="inverse"))

  def sample_fn(self, params, model_state, rng, workdir: str, options: FlowSampleOptions = FlowSampleOptions(),
                examples=None) -> Samples:
    del model_state, workdir, options
    shape = (self.samples, *examples["image"].shape[1:])
    images = np.asarray(jax.jit(self.generate, static_argnums=2)(params, rng, shape))
    return Samples(f"{self.samples} samples: N(0, I) through the inverse flow", images, columns=8)
