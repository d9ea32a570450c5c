"""The train state: one explicit pytree, donated to each jitted step and checkpointed whole."""

from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import optax

from jaxdl import optim


@flax.struct.dataclass
class TrainState:
  """Everything a step reads or writes. The data iterator's position is saved beside it."""

  step: jax.Array              # int32 scalar: steps taken
  params: Any
  opt_state: optax.OptState
  model_state: dict[str, Any]  # non-trained collections such as batch_stats; {} if none
  rng: jax.Array               # the root key; step keys are fold_in(rng, step)
  metric_sums: dict[str, jax.Array]  # train metrics summed since the last log row (exact across resume)
  bad_step: jax.Array          # first step whose loss was NaN/Inf, -1 while all are finite


def create(task, tx: optax.GradientTransformation, rng: jax.Array, batch) -> TrainState:
  """Initializes the model on one batch's shapes; pure, so it can be jitted with output shardings."""
  init_rng, train_rng = jax.random.split(rng)
  variables = task.init(init_rng, batch)
  params = variables.pop("params")
  metric_sums = {name: jnp.zeros(()) for name in (*task.train_metrics, "steps")}
  return TrainState(
      step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params), model_state=variables,
      rng=train_rng, metric_sums=metric_sums, bad_step=jnp.full((), -1, jnp.int32))


def eval_params(state: TrainState):
  """The parameters evaluation and sampling use: their moving average under --ema_decay, else the trained ones."""
  return state.opt_state.average if isinstance(state.opt_state, optim.AveragedState) else state.params


def reset_metric_sums(state: TrainState) -> TrainState:
  return state.replace(metric_sums=jax.tree.map(jnp.zeros_like, state.metric_sums))


def count_params(params) -> int:
  return sum(int(x.size) for x in jax.tree.leaves(params))
