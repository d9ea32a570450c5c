"""The pure train and eval steps: `train_step(state, batch) -> (state, metrics)`."""

import jax
import jax.numpy as jnp
import optax

from jaxdl.tasks import contract
from jaxdl.train.state import TrainState


def make_train_step(task, tx: optax.GradientTransformation, axis_name: str | None = None, augment=None):
  """One optimizer step of `tx` on the task's gradients (see jaxdl.tasks.contract); under pmap, `axis_name`
  averages gradients and metrics across devices.

  `augment(key, batch) -> batch` runs first, on a key split from the step's key.

  A step whose loss is NaN/Inf leaves params and optimizer state untouched and records its
  number in `bad_step` (first one wins), so the loop can stop with the last good state intact.
  """

  def train_step(state: TrainState, batch):
    rng = jax.random.fold_in(state.rng, state.step)
    if augment is not None:
      augment_rng, rng = jax.random.split(rng)
      batch = augment(augment_rng, batch)
    grads, (metrics, model_state) = contract.gradients(task)(state.params, state.model_state, batch, rng)
    if axis_name is not None:
      grads, metrics, model_state = jax.lax.pmean((grads, metrics, model_state), axis_name)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    ok = jnp.isfinite(metrics["loss"]) & (state.bad_step < 0)
    keep = lambda new, old: jax.tree.map(lambda n, o: jnp.where(ok, n, o), new, old)  # noqa: E731
    sums = {k: state.metric_sums[k] + (1.0 if k == "steps" else metrics[k]) for k in state.metric_sums}
    new_state = state.replace(
        step=state.step + 1,
        params=keep(params, state.params),
        opt_state=keep(opt_state, state.opt_state),
        model_state=keep(model_state, state.model_state),
        metric_sums=keep(sums, state.metric_sums),
        bad_step=jnp.where(ok | (state.bad_step >= 0), state.bad_step, state.step))
    return new_state, metrics

  return train_step


def masked_sums(per_example: dict[str, jax.Array], batch) -> dict[str, jax.Array]:
  """Sums of per-example metrics over the real (mask == 1) rows of a padded batch, plus their count."""
  mask = batch["mask"].astype(jnp.float32)
  return {**{k: (v * mask).sum() for k, v in per_example.items()}, "count": mask.sum()}


def make_eval_step(task, axis_name: str | None = None):
  """masked_sums of the task's per-example eval metrics (psum'd across devices under pmap)."""

  def eval_step(params, model_state, batch):
    sums = masked_sums(task.eval_fn(params, model_state, batch), batch)
    if axis_name is not None:
      sums = jax.lax.psum(sums, axis_name)
    return sums

  return eval_step
