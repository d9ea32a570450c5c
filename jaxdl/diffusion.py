"""Denoising diffusion (Ho et al., 2020) and its deterministic sampler DDIM (Song et al., 2021), with
classifier-free (Ho & Salimans, 2022) and classifier (Dhariwal & Nichol, 2021) guidance.

A `Schedule` holds the per-step arrays of one noise schedule; the functions take it and a noise predictor
`eps_fn(x_t, t) -> eps` (t: (B,) int32 steps, 0-based: step t adds noise beta[t]). Sampling runs as one
`lax.scan` over the steps, so a jitted sampler compiles the model once.
"""

import dataclasses
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl.errors import UsageError


@dataclasses.dataclass(frozen=True)
class Schedule:
  """beta_t and what the closed forms need of it, as float32 arrays of length T."""

  betas: jax.Array
  alphas: jax.Array        # 1 - beta_t
  alpha_bars: jax.Array    # prod_{s <= t} alpha_s
  alpha_bars_prev: jax.Array  # alpha_bar_{t-1}, with alpha_bar_{-1} = 1

  @property
  def steps(self) -> int:
    return len(self.betas)


def _from_betas(betas: np.ndarray) -> Schedule:
  alpha_bars = np.cumprod(1.0 - betas)
  return Schedule(*(jnp.asarray(a, jnp.float32) for a in (betas, 1.0 - betas, alpha_bars,
                                                          np.concatenate([[1.0], alpha_bars[:-1]]))))


def linear_schedule(steps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> Schedule:
  """Ho et al.'s betas, rising linearly; the endpoints are the paper's for T = 1000, scaled by 1000 / T so that
  other step counts destroy the signal alike."""
  scale = 1000 / steps
  if scale * beta_end > 1:
    raise UsageError(f"--task_args steps={steps}: the linear schedule's betas scale with 1000 / steps, and its last "
                     f"one, {scale * beta_end:g}, passes 1 (alpha_bar would turn negative); use steps >= "
                     f"{math.ceil(1000 * beta_end)} or schedule=cosine")
  return _from_betas(np.linspace(scale * beta_start, scale * beta_end, steps, dtype=np.float64))


def cosine_schedule(steps: int = 1000, offset: float = 0.008, max_beta: float = 0.999) -> Schedule:
  """Nichol & Dhariwal's alpha_bar(t) = cos^2((t/T + s) / (1 + s) * pi/2) / (the same at 0), betas clipped."""
  f = np.cos((np.arange(steps + 1, dtype=np.float64) / steps + offset) / (1 + offset) * math.pi / 2) ** 2
  return _from_betas(np.minimum(1 - f[1:] / f[:-1], max_beta))


SCHEDULES = {"linear": linear_schedule, "cosine": cosine_schedule}


def named_schedule(name: str, steps: int) -> Schedule:
  """The schedule `name` (a key of SCHEDULES) over `steps` steps; another name is a UsageError (a task's
  --task_args schedule)."""
  if name not in SCHEDULES:
    raise UsageError(f"--task_args schedule={name!r}; choose one of: {', '.join(SCHEDULES)}")
  return SCHEDULES[name](steps)


def _at(values, t, x):
  """values[t] shaped to broadcast against x (B, ...)."""
  return values[t].reshape(-1, *([1] * (x.ndim - 1)))


def q_sample(schedule: Schedule, x0, t, noise):
  """x_t ~ q(x_t | x_0) in closed form: sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) noise."""
  return jnp.sqrt(_at(schedule.alpha_bars, t, x0)) * x0 + jnp.sqrt(1 - _at(schedule.alpha_bars, t, x0)) * noise


def predict_x0(schedule: Schedule, x_t, t, eps):
  """The x_0 that noise `eps` at step t implies: (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t)."""
  ab = _at(schedule.alpha_bars, t, x_t)
  return (x_t - jnp.sqrt(1 - ab) * eps) / jnp.sqrt(ab)


def posterior(schedule: Schedule, x0, x_t, t):
  """Mean and variance of q(x_{t-1} | x_t, x_0): (beta_t sqrt(alpha_bar_{t-1}) x_0 + (1 - alpha_bar_{t-1})
  sqrt(alpha_t) x_t) / (1 - alpha_bar_t), and beta~_t = beta_t (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t)."""
  beta, alpha = _at(schedule.betas, t, x_t), _at(schedule.alphas, t, x_t)
  ab, ab_prev = _at(schedule.alpha_bars, t, x_t), _at(schedule.alpha_bars_prev, t, x_t)
  mean = (beta * jnp.sqrt(ab_prev) * x0 + (1 - ab_prev) * jnp.sqrt(alpha) * x_t) / (1 - ab)
  return mean, beta * (1 - ab_prev) / (1 - ab)


PREDICTIONS = ("eps", "v")


def velocity(schedule: Schedule, x0, t, noise):
  """Salimans & Ho's (2022) v = sqrt(alpha_bar_t) eps - sqrt(1 - alpha_bar_t) x_0, the target of a "v" denoiser:
  near pure noise it is about -x_0, so the prediction stays well conditioned where eps says almost nothing of x_0."""
  ab = _at(schedule.alpha_bars, t, x0)
  return jnp.sqrt(ab) * noise - jnp.sqrt(1 - ab) * x0


def eps_from_velocity(schedule: Schedule, x_t, t, v):
  """The noise a v prediction implies at x_t (the samplers take eps):
  sqrt(1 - alpha_bar_t) x_t + sqrt(alpha_bar_t) v."""
  ab = _at(schedule.alpha_bars, t, x_t)
  return jnp.sqrt(1 - ab) * x_t + jnp.sqrt(ab) * v


def simple_loss(predict_fn: Callable, schedule: Schedule, x0, rng, prediction: str = "eps"):
  """Ho et al.'s L_simple per example (B,): || eps - eps_theta(x_t, t) ||^2 averaged over the pixels, t uniform;
  `prediction="v"` regresses `velocity` instead (Salimans & Ho's v-MSE: eps's error weighted by 1 / alpha_bar_t)."""
  if prediction not in PREDICTIONS:
    raise ValueError(f"prediction {prediction!r}: choose one of {', '.join(PREDICTIONS)}")
  t_rng, noise_rng = jax.random.split(rng)
  t = jax.random.randint(t_rng, (x0.shape[0],), 0, schedule.steps)
  noise = jax.random.normal(noise_rng, x0.shape, x0.dtype)
  target = noise if prediction == "eps" else velocity(schedule, x0, t, noise)
  err = (predict_fn(q_sample(schedule, x0, t, noise), t) - target) ** 2
  return err.reshape(err.shape[0], -1).mean(-1)


def ddpm_step(schedule: Schedule, x_t, t, eps, noise, clip: float | None = 1.0):
  """One step of Ho et al.'s ancestral sampler (their Algorithm 2, in its x_0 form): x_{t-1} is the posterior
  mean given the predicted x_0 plus sqrt(beta~_t) noise (none at t = 0). `clip` bounds the predicted x_0 (data
  in [-1, 1]); None leaves it, which is the algorithm as printed."""
  x0 = predict_x0(schedule, x_t, t, eps)
  x0 = x0 if clip is None else jnp.clip(x0, -clip, clip)
  mean, variance = posterior(schedule, x0, x_t, t)
  return mean + jnp.where(t.reshape(-1, *([1] * (x_t.ndim - 1))) > 0, jnp.sqrt(variance), 0.0) * noise


def ddpm_sample(eps_fn: Callable, schedule: Schedule, shape, rng, clip: float | None = 1.0, x_T=None):
  """x_0 from x_T ~ N(0, I) through every step, as one `lax.scan`."""
  x_rng, rng = jax.random.split(rng)

  def step(x, t):
    batch_t = jnp.full((shape[0],), t, jnp.int32)
    noise = jax.random.normal(jax.random.fold_in(rng, t), shape)
    return ddpm_step(schedule, x, batch_t, eps_fn(x, batch_t), noise, clip), None

  x_T = jax.random.normal(x_rng, shape) if x_T is None else x_T
  return jax.lax.scan(step, x_T, jnp.arange(schedule.steps - 1, -1, -1))[0]


SPACINGS = ("uniform", "quadratic")


def ddim_timesteps(total: int, steps: int, spacing: str = "uniform") -> np.ndarray:
  """`steps` of the `total` training steps from 0 to total - 1, increasing (DDIM's tau): evenly spaced, or
  `quadratic` (tau_i proportional to i^2: more of them at low noise, as Song et al. chose for CIFAR-10), each
  then at least one step after the one before."""
  if not 1 <= steps <= total:
    raise ValueError(f"DDIM samples on 1 to {total} of the training steps, not {steps}")
  if spacing not in SPACINGS:
    raise ValueError(f"DDIM spacing {spacing!r}: choose one of {', '.join(SPACINGS)}")
  if spacing == "uniform":
    return np.round(np.linspace(0, total - 1, steps)).astype(np.int32)
  taus = np.round(np.linspace(0, np.sqrt(total - 1), steps) ** 2).astype(np.int32)
  for i in range(1, steps):  # the first squares are closer than one step apart
    taus[i] = max(taus[i], taus[i - 1] + 1)
  return taus


def ddim_sigma(schedule: Schedule, t, t_prev, eta: float):
  """Song et al.'s eq. 16, eta sqrt((1 - alpha_bar_prev) / (1 - alpha_bar_t)) sqrt(1 - alpha_bar_t / alpha_bar_prev),
  with alpha_bar_prev = 1 past the first step (t_prev = -1). Between consecutive steps eta = 1 gives DDPM's
  sqrt(beta~_t); eta = 0 makes the sampler deterministic."""
  ab = schedule.alpha_bars[t]
  ab_prev = jnp.where(t_prev >= 0, schedule.alpha_bars[jnp.maximum(t_prev, 0)], 1.0)
  return eta * jnp.sqrt((1 - ab_prev) / (1 - ab)) * jnp.sqrt(1 - ab / ab_prev)


def ddim_step(schedule: Schedule, x_t, t: int, t_prev: int, eps, noise, eta: float = 0.0,
              clip: float | None = 1.0):
  """Song et al.'s eq. 12 from step t to t_prev (scalars; -1: to x_0):
  x_prev = sqrt(alpha_bar_prev) x0_pred + sqrt(1 - alpha_bar_prev - sigma^2) eps + sigma noise.
  With `clip`, eps is recomputed from the clipped x0_pred so that the two stay consistent."""
  ab = schedule.alpha_bars[t]
  ab_prev = jnp.where(t_prev >= 0, schedule.alpha_bars[jnp.maximum(t_prev, 0)], 1.0)
  x0 = (x_t - jnp.sqrt(1 - ab) * eps) / jnp.sqrt(ab)
  if clip is not None:
    x0 = jnp.clip(x0, -clip, clip)
    eps = (x_t - jnp.sqrt(ab) * x0) / jnp.sqrt(1 - ab)
  sigma = ddim_sigma(schedule, t, t_prev, eta)
  return jnp.sqrt(ab_prev) * x0 + jnp.sqrt(jnp.maximum(1 - ab_prev - sigma ** 2, 0.0)) * eps + sigma * noise


def ddim_sample(eps_fn: Callable, schedule: Schedule, shape, rng, steps: int = 50, eta: float = 0.0,
                clip: float | None = 1.0, x_T=None, spacing: str = "uniform"):
  """x_0 through `steps` of the training steps (`ddim_timesteps`), as one `lax.scan`; `x_T` starts from given
  noise (with eta = 0 the sampler then maps it to one image)."""
  x_rng, rng = jax.random.split(rng)
  taus = ddim_timesteps(schedule.steps, steps, spacing)[::-1]
  pairs = jnp.asarray(np.stack([taus, np.append(taus[1:], -1)], axis=1))

  def step(x, pair):
    t, t_prev = pair[0], pair[1]
    batch_t = jnp.full((shape[0],), t, jnp.int32)
    noise = jax.random.normal(jax.random.fold_in(rng, t), shape)
    return ddim_step(schedule, x, t, t_prev, eps_fn(x, batch_t), noise, eta, clip), None

  x_T = jax.random.normal(x_rng, shape) if x_T is None else x_T
  return jax.lax.scan(step, x_T, pairs)[0]


def classifier_free(eps_fn: Callable, labels, null_label: int, weight: float) -> Callable:
  """eps(x, t) = (1 + w) eps(x, t, y) - w eps(x, t, null) (Ho & Salimans' eq. 6), from one `eps_fn(x, t, y)`
  call on the conditional and unconditional halves of a doubled batch."""
  def guided(x, t):
    both = eps_fn(jnp.concatenate([x, x]), jnp.concatenate([t, t]),
                  jnp.concatenate([labels, jnp.full_like(labels, null_label)]))
    cond, uncond = jnp.split(both, 2)
    return (1 + weight) * cond - weight * uncond
  return guided


def classifier_guided(eps_fn: Callable, log_prob_fn: Callable, schedule: Schedule, labels, scale: float) -> Callable:
  """eps^(x, t) = eps(x, t) - s sqrt(1 - alpha_bar_t) grad_x log p(y | x_t, t) (Dhariwal & Nichol's Algorithm 2
  in eps form), with `log_prob_fn(x, t, y)` -> (B,) a classifier trained on noisy inputs."""
  def guided(x, t):
    grad = jax.grad(lambda x: log_prob_fn(x, t, labels).sum())(x)
    return eps_fn(x, t) - scale * jnp.sqrt(1 - _at(schedule.alpha_bars, t, x)) * grad
  return guided
