"""Optimizers and learning-rate schedules from optax, configured as the notes state them.

`create(name, learning_rate, **hparams)` returns an `optax.GradientTransformation`. Defaults
follow the notes: momentum 0.9; AdaGrad's accumulator starts at 0 and RMSprop decays it by
0.9, both dividing by sqrt(v) + 1e-8 (epsilon outside the root); Adam 0.9 / 0.999 / 1e-8
with bias correction.
"""

from typing import Annotated, Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxdl.args import (NonNegativeFloat, NonNegativeInt, OpenUnit, PositiveFloat, PositiveInt, Probability, Range,
                        UnitInterval)
from jaxdl import args
from jaxdl.errors import UsageError
from jaxdl.registry import optimizers, schedules


class AdagradState(NamedTuple):
  sum_of_squares: Any


def scale_by_adagrad(eps: float = 1e-8) -> optax.GradientTransformation:
  """g / (sqrt(v) + eps), v = sum of g^2 from 0 (Duchi et al., 2011).

  optax.adagrad starts v at 0.1 and puts eps inside the root; the notes do neither.
  """

  def init_fn(params):
    return AdagradState(jax.tree.map(jnp.zeros_like, params))

  def update_fn(updates, state, params=None):
    del params
    v = jax.tree.map(lambda s, g: s + jnp.square(g), state.sum_of_squares, updates)
    updates = jax.tree.map(lambda g, s: g / (jnp.sqrt(s) + eps), updates, v)
    return updates, AdagradState(v)

  return optax.GradientTransformation(init_fn, update_fn)


@optimizers.register("sgd")
def sgd(learning_rate):
  return optax.sgd(learning_rate)


@optimizers.register("momentum")
def momentum(learning_rate, momentum: Probability = 0.9):
  """v <- momentum v + g; w <- w - lr v (the notes' m = -lr v, equal at constant lr)."""
  return optax.sgd(learning_rate, momentum=momentum)


@optimizers.register("nesterov")
def nesterov(learning_rate, momentum: Probability = 0.9):
  """Sutskever et al.'s look-ahead momentum in its gradient-at-current-point form."""
  return optax.sgd(learning_rate, momentum=momentum, nesterov=True)


@optimizers.register("adagrad")
def adagrad(learning_rate, eps: PositiveFloat = 1e-8):
  return optax.chain(scale_by_adagrad(eps), optax.scale_by_learning_rate(learning_rate))


@optimizers.register("rmsprop")
def rmsprop(learning_rate, decay: Probability = 0.9, eps: PositiveFloat = 1e-8):
  return optax.rmsprop(learning_rate, decay=decay, eps=eps, eps_in_sqrt=False)


@optimizers.register("adam")
def adam(learning_rate, b1: Probability = 0.9, b2: Probability = 0.999, eps: PositiveFloat = 1e-8):
  return optax.adam(learning_rate, b1=b1, b2=b2, eps=eps)


def weights_only(params):
  """True for the weight matrices and embeddings (flax's `kernel` and `embedding`), False for biases, norm scales
  and the rest: what GPT-2 and nanoGPT decay."""
  return jax.tree_util.tree_map_with_path(lambda path, _: getattr(path[-1], "key", None) in ("kernel", "embedding"),
                                          params)


@optimizers.register("adamw")
def adamw(learning_rate, b1: Probability = 0.9, b2: Probability = 0.999, eps: PositiveFloat = 1e-8,
          weight_decay: NonNegativeFloat = 0.0, decay_weights_only: bool = False):
  """`decay_weights_only=true` spares biases and norm scales the decay (`weights_only`)."""
  return optax.adamw(learning_rate, b1=b1, b2=b2, eps=eps, weight_decay=weight_decay,
                     mask=weights_only if decay_weights_only else None)


def create(name: str, learning_rate, *, weight_decay: float = 0.0, clip_norm: float = 0.0,
           accumulate_steps: int = 1, **hparams) -> optax.GradientTransformation:
  """Builds optimizer `name` with global-norm clipping, weight decay and gradient accumulation.

  Weight decay is decoupled for adamw (Loshchilov & Hutter) and the classic coupled L2
  gradient term `g + weight_decay * w` for every other optimizer.
  """
  factory = optimizers.get(name)
  if name == "adamw":
    tx = factory(learning_rate, weight_decay=weight_decay, **hparams)
  else:
    tx = factory(learning_rate, **hparams)
    if weight_decay:
      tx = optax.chain(optax.add_decayed_weights(weight_decay), tx)
  if clip_norm:
    tx = optax.chain(optax.clip_by_global_norm(clip_norm), tx)
  if accumulate_steps > 1:
    tx = optax.MultiSteps(tx, every_k_schedule=accumulate_steps)
  return tx


class AveragedState(NamedTuple):
  inner: optax.OptState
  average: Any  # the parameters' exponential moving average, debiased
  count: jax.Array  # updates averaged


def averaged(tx: optax.GradientTransformation, decay: float) -> optax.GradientTransformation:
  """`tx`, keeping beside its state an exponential moving average of the parameters it produces (what DDPM
  samples with, decay 0.9999): after update t, average = sum_s w_s params_s with w_s proportional to
  decay^(t - s), normalized as Adam debiases its moments, so the initial parameters weigh nothing (a plain
  average started from them would still hold decay^t of them). Living in the optimizer state, the average is
  checkpointed, resumed and skipped on a NaN step with the rest; `jaxdl.train.state.eval_params` reads it."""
  if not 0 <= decay < 1:
    raise UsageError(f"--ema_decay={decay}: an average needs a decay in [0, 1)")

  def init_fn(params):
    return AveragedState(tx.init(params), jax.tree.map(jnp.copy, params), jnp.zeros((), jnp.int32))

  def update_fn(updates, state, params=None):
    updates, inner = tx.update(updates, state.inner, params)
    count = state.count + 1
    weight = (1 - decay) / (1 - decay ** count.astype(jnp.float32))  # 1 at the first update
    average = optax.incremental_update(optax.apply_updates(params, updates), state.average, weight)
    return updates, AveragedState(inner, average, count)

  return optax.GradientTransformation(init_fn, update_fn)


@schedules.register("constant")
def constant(learning_rate, steps):
  del steps
  return optax.constant_schedule(learning_rate)


@schedules.register("step")
def step(learning_rate, steps, decay_rate: OpenUnit = 0.1, step_every: NonNegativeInt = 0):
  """Multiplies the rate by `decay_rate` every `step_every` steps (default: a third of the run)."""
  return optax.exponential_decay(learning_rate, step_every or max(1, steps // 3), decay_rate, staircase=True)


@schedules.register("exponential")
def exponential(learning_rate, steps, decay_rate: OpenUnit = 0.01):
  """Smooth decay reaching `decay_rate` times the initial rate at the last step."""
  return optax.exponential_decay(learning_rate, max(1, steps), decay_rate)


@schedules.register("cosine")
def cosine(learning_rate, steps, alpha: UnitInterval = 0.0):
  """Half a cosine from the rate down to `alpha` times it (Loshchilov & Hutter, SGDR)."""
  return optax.cosine_decay_schedule(learning_rate, max(1, steps), alpha)


@schedules.register("cyclic_cosine")
def cyclic_cosine(learning_rate, steps, cycles: PositiveInt = 5):
  """`cycles` cosine decays from the full rate, restarting each time (Loshchilov & Hutter, 2017): the
  snapshot-ensemble schedule (Huang et al., 2017) with one snapshot at the end of each cycle."""
  length = max(1, steps // cycles)
  return optax.join_schedules([optax.cosine_decay_schedule(learning_rate, length)] * cycles,
                              [length * i for i in range(1, cycles)])


@schedules.register("range_test")
def range_test(learning_rate, steps, growth: Annotated[float, Range(1, low_open=True)] = 1e7):
  """The rate times `growth` ** (step / steps): exponential growth from the rate, the LR range test's
  schedule (`--mode=lr_find`)."""
  return lambda count: learning_rate * growth ** (count / max(1, steps))


def schedule(name: str, learning_rate: float, steps: int, warmup_steps: int = 0, **hparams) -> optax.Schedule:
  """Schedule `name` over `steps`, after `warmup_steps` of linear warmup from 0."""
  if warmup_steps >= steps > 0:
    raise UsageError(f"--warmup_steps={warmup_steps} must be smaller than --steps={steps}")
  main = schedules.get(name)(learning_rate, steps - warmup_steps, **hparams)
  if not warmup_steps:
    return main
  warmup = optax.linear_schedule(0.0, learning_rate, warmup_steps)
  return optax.join_schedules([warmup, main], [warmup_steps])


def optimizer_args(name: str, spec: str) -> dict[str, Any]:
  """Parses `--optim_args` against optimizer `name`'s own hyperparameters."""
  kwargs = args.parse(spec, optimizers.get(name), "optim_args")
  if "weight_decay" in kwargs:
    raise UsageError("--optim_args: set weight decay with --weight_decay")
  return kwargs
