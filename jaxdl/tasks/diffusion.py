"""Denoising diffusion on images (Ho et al., 2020): train a denoiser on L_simple, sample with DDPM's ancestral
sampler or DDIM (Song et al., 2021), optionally class-conditional with classifier-free guidance (Ho & Salimans,
2022) or steered to a class by a noise-aware classifier's gradient (classifier guidance, Dhariwal & Nichol, 2021;
the classifier is a `--task=noisy_classify` run).

The denoiser is any registered model called as `model(x, t, labels=None, train=False) -> eps` (`unet`, `dit`);
the formulas live in `jaxdl.diffusion`. Images in [0, 1] are mapped to [-1, 1] (the scale the schedules assume)
and back for the sample grid.
"""

import dataclasses
from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxdl import diffusion
from jaxdl.args import NonNegativeFloat, PositiveInt, Probability, UnitInterval
from jaxdl.errors import UsageError
from jaxdl.registry import tasks
from jaxdl.tasks import judging, noising
from jaxdl.tasks.contract import Samples

_SAMPLERS = ("ddpm", "ddim")


@dataclasses.dataclass(frozen=True)
class SampleOptions:
  """--mode=sample draws the task's own settings (--task_args sampler, sample_steps, eta, guidance)."""


@tasks.register("diffusion")
@dataclasses.dataclass(frozen=True)
class Diffusion(noising.NoiseSettings, judging.JudgeSettings):
  """`schedule` linear|cosine over `steps` noise steps; the denoiser predicts the noise (`prediction` eps) or
  Salimans & Ho's v (`prediction` v). `conditional`: the denoiser sees the label, dropped to "no
  label" with probability `label_dropout` in training so that one network is both models classifier-free guidance
  mixes with weight `guidance` (w) at sampling. `classifier` (a noise-aware classifier's run) guides samples towards
  their labels with scale `classifier_scale`, conditional or not. `sampler` ddpm (every step) or ddim
  (`sample_steps` of them, `spacing` uniform|quadratic, stochasticity `eta`); `samples` images per --mode=sample
  grid. With `judge`, `quality_samples` samples are scored after training (`final_metrics`), averaged over
  `quality_draws` draws."""

  model: nn.Module
  num_classes: int
  conditional: bool = False
  label_dropout: Probability = 0.1
  prediction: str = "eps"
  sampler: str = "ddpm"
  sample_steps: PositiveInt = 50
  spacing: str = "uniform"
  eta: UnitInterval = 0.0
  guidance: NonNegativeFloat = 0.0
  classifier: str = ""  # a --task=noisy_classify run whose gradient guides sampling
  classifier_scale: NonNegativeFloat = 1.0
  samples: PositiveInt = 20
  classifier_fn: Callable | None = None  # (x_t, t, labels) -> log p(labels | x_t); set from `classifier`

  train_metrics = ("loss",)
  monitor = "loss"  # validation L_simple picks the best checkpoint
  monitor_mode = "min"

  def __post_init__(self):
    super().__post_init__()
    if self.prediction not in diffusion.PREDICTIONS:
      raise UsageError(f"--task_args prediction={self.prediction!r}; choose one of: {', '.join(diffusion.PREDICTIONS)}")
    if self.sampler not in _SAMPLERS:
      raise UsageError(f"--task_args sampler={self.sampler!r}; choose one of: {', '.join(_SAMPLERS)}")
    if self.spacing not in diffusion.SPACINGS:
      raise UsageError(f"--task_args spacing={self.spacing!r}; choose one of: {', '.join(diffusion.SPACINGS)}")
    if self.sampler == "ddim" and self.sample_steps > self.steps:
      raise UsageError(f"--task_args sample_steps={self.sample_steps} exceeds the {self.steps} noise steps")
    if self.guidance and not self.conditional:
      raise UsageError("--task_args guidance needs conditional=true (it mixes the conditional and unconditional "
                       "noise predictions)")

  @property
  def labelled(self) -> bool:
    """Whether samples are drawn for given labels (a conditional model, or a guiding classifier)."""
    return self.conditional or bool(self.classifier)

  def init(self, rng, batch) -> dict[str, Any]:
    params_rng, dropout_rng = jax.random.split(rng)
    x = batch["image"]
    labels = batch["label"] if self.conditional else None
    return dict(self.model.init({"params": params_rng, "dropout": dropout_rng}, x,
                                jnp.zeros(x.shape[:1], jnp.int32), labels))

  def expected_initial_loss(self) -> float:
    """A denoiser that predicts zero (the zero-initialized heads) scores E||eps||^2 per pixel = 1; under v,
    mean_t(alpha_bar_t) + mean_t(1 - alpha_bar_t) E[x_0^2] <= 1, near 1 for images mostly at black or white."""
    return 1.0

  def _predict_fn(self, params, labels, train=False, rng=None):
    """The denoiser's output at (x_t, t): the noise, or v under prediction=v."""
    return lambda x, t: self.model.apply({"params": params}, x, t, labels, train=train,
                                         rngs={"dropout": rng} if train else None)

  def _as_eps(self, predict_fn, schedule: diffusion.Schedule):
    """The noise predictor the samplers and guidance take, from the denoiser's output."""
    if self.prediction == "eps":
      return predict_fn
    return lambda x, t: diffusion.eps_from_velocity(schedule, x, t, predict_fn(x, t))

  def loss_fn(self, params, model_state, batch, rng):
    del model_state
    drop_rng, noise_rng, dropout_rng = jax.random.split(rng, 3)
    labels = None
    if self.conditional:
      dropped = jax.random.bernoulli(drop_rng, self.label_dropout, batch["label"].shape)
      labels = jnp.where(dropped, self.num_classes, batch["label"])
    x0 = 2 * batch["image"] - 1
    loss = diffusion.simple_loss(self._predict_fn(params, labels, True, dropout_rng), self.noise_schedule, x0,
                                 noise_rng, self.prediction).mean()
    return loss, ({"loss": loss}, {})

  def eval_fn(self, params, model_state, batch) -> dict[str, jax.Array]:
    """L_simple per example with a fixed draw of (t, noise) per batch row, so that every evaluation of a split
    sees the same noise and checkpoints compare fairly."""
    del model_state
    labels = batch["label"] if self.conditional else None
    x0 = 2 * batch["image"] - 1
    return {"loss": diffusion.simple_loss(self._predict_fn(params, labels), self.noise_schedule, x0,
                                          jax.random.PRNGKey(0), self.prediction)}

  def generate(self, params, rng, shape, labels=None):
    """Images in [0, 1] (shape (N, H, W, C)) from the task's sampler, guided when `guidance` > 0 or by the
    classifier."""
    schedule = self.noise_schedule
    if labels is None:
      predict_fn = self._predict_fn(params, None)
    elif self.guidance:
      def conditional(x, t, y):
        return self.model.apply({"params": params}, x, t, y)
      # v is affine in eps with weights summing to 1, so mixing v's mixes the noises they imply alike
      predict_fn = diffusion.classifier_free(conditional, labels, self.num_classes, self.guidance)
    else:
      predict_fn = self._predict_fn(params, labels if self.conditional else None)
    eps_fn = self._as_eps(predict_fn, schedule)
    if labels is not None and self.classifier_fn is not None:
      eps_fn = diffusion.classifier_guided(eps_fn, self.classifier_fn, schedule, labels, self.classifier_scale)
    if self.sampler == "ddim":
      x = diffusion.ddim_sample(eps_fn, schedule, shape, rng, self.sample_steps, self.eta, spacing=self.spacing)
    else:
      x = diffusion.ddpm_sample(eps_fn, schedule, shape, rng)
    return jnp.clip((x + 1) / 2, 0.0, 1.0)

  def sample_fn(self, params, model_state, rng, workdir: str, options: SampleOptions = SampleOptions(),
                examples=None) -> Samples:
    """`samples` images; a labelled run draws labels 0, 1, ... in turn, one class per grid column."""
    del model_state, workdir, options
    shape = (self.samples, *examples["image"].shape[1:])
    labels = jnp.arange(self.samples) % self.num_classes if self.labelled else None
    images = np.asarray(jax.jit(self.generate, static_argnums=2)(params, rng, shape, labels))
    how = "DDPM, every step" if self.sampler == "ddpm" else f"DDIM, {self.sample_steps} steps, eta {self.eta}"
    guided = f", guidance w={self.guidance}" if self.guidance else ""
    guided += f", classifier scale {self.classifier_scale}" if self.classifier else ""
    captions = tuple(f"label {y}" for y in np.asarray(labels)) if labels is not None else ()
    return Samples(f"{self.samples} samples ({how}{guided})", images, captions,
                   columns=min(self.samples, self.num_classes if self.labelled else 8))

  def final_metrics(self, params, model_state, dataset, rng) -> dict[str, float]:
    """With a judge: `jaxdl.tasks.judging` scores `quality_samples` samples (drawn for labels 0, 1, ... in turn
    when labelled)."""
    del model_state
    generate = jax.jit(self.generate, static_argnums=2)
    return judging.judge_generator(self, lambda key, n, shape, y: generate(params, key, (n, *shape), y), dataset, rng,
                                   self.labelled)
