"""The training loop: one jitted, donated `train_step`; logging, eval and checkpoints around it, never inside.

A run killed at any point and restarted with the same flags resumes from its last checkpoint
and ends bit-identical to an uninterrupted run: the step's keys are fold_in(rng, step), the
data order is a function of (seed, step), and logged train metrics are sums kept in the state.
"""

import contextlib
import math
import os
import signal
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import tqdm
from absl import logging
from jax.experimental import multihost_utils

from jaxdl.config import Config, differences, from_flagfile, to_flagfile
from jaxdl.data import pipeline
from jaxdl.errors import UsageError
from jaxdl.tasks import contract
from jaxdl.train import plots, summary as summary_lib
from jaxdl.train import state as state_lib
from jaxdl.train.checkpoint import Checkpoints
from jaxdl.train.early_stopping import EarlyStopping
from jaxdl.train.setup import Setup, build
from jaxdl.train.step import make_eval_step, make_train_step
from jaxdl.train.writer import MetricWriter


class TrainingStopped(Exception):
  """The run stopped before its last step; `exit_code` tells the CLI how."""

  exit_code = 1


class Diverged(TrainingStopped):
  pass


class Interrupted(TrainingStopped):
  exit_code = 143  # 128 + SIGTERM, what schedulers expect of a preempted job


def prepare_workdir(workdir: str, config: Config, artifacts: dict[str, str] | None = None) -> None:
  """Checks the workdir is writable and that an existing run in it was started with these flags and the same
  data artifacts (a tokenizer's vocabulary); writes flags.txt and the artifacts (process 0 of a multi-host
  run writes, every process checks)."""
  primary = jax.process_index() == 0
  try:
    os.makedirs(workdir, exist_ok=True)
    if primary:
      with open(os.path.join(workdir, ".write_test"), "w"):
        pass
      os.remove(os.path.join(workdir, ".write_test"))
  except OSError as e:
    raise UsageError(f"--workdir={workdir} is not a writable directory ({e.strerror})") from None
  path = os.path.join(workdir, "flags.txt")
  if os.path.exists(path):
    with open(path) as f:
      diffs = differences(from_flagfile(f.read()), config)
    if diffs:
      raise UsageError(f"--workdir={workdir} holds a run with other flags ({'; '.join(diffs)}); "
                       "use a new --workdir or the same flags")
  artifacts = artifacts or {}
  for name, text in artifacts.items():
    if os.path.exists(os.path.join(workdir, name)):
      with open(os.path.join(workdir, name)) as f:
        if f.read() != text:
          raise UsageError(f"--workdir={workdir} holds a {name} other than the one --data={config.data} gives now "
                           "(the data changed since the run started); use a new --workdir or the original data")
  if not primary:
    return
  for name, text in {**artifacts, "flags.txt": to_flagfile(config)}.items():
    with open(os.path.join(workdir, name + ".tmp"), "w") as f:
      f.write(text)
    os.replace(os.path.join(workdir, name + ".tmp"), os.path.join(workdir, name))


def _initializer(setup: Setup, config: Config):
  """(state creator, its arguments): the train state is shaped by one training batch."""
  sample = setup.dataset.splits["train"].read(np.arange(config.batch_size))
  create = lambda rng, batch: state_lib.create(setup.task, setup.tx, rng, batch)  # noqa: E731
  return create, (jax.random.PRNGKey(config.seed), sample)


def init_state(setup: Setup, config: Config):
  """The initial (sharded or replicated) train state and the batch that shaped it."""
  create, args = _initializer(setup, config)
  return setup.parallel.init(create, *args), args[1]


def restore_target(setup: Setup, config: Config):
  """What a checkpoint of this run restores into: the global state's shapes, dtypes and shardings, by
  `jax.eval_shape` (initializing for real would compile and run the model's init for nothing)."""
  create, args = _initializer(setup, config)
  return setup.parallel.abstract_init(create, *args)


def evaluate(setup: Setup, eval_step, state, batch_size: int) -> dict[str, float]:
  """Means of the task's per-example metrics over every example of each eval split."""
  out = {}
  for split in setup.dataset.eval_splits:
    totals = None
    for batch in pipeline.eval_batches(setup.dataset.splits[split], batch_size):
      sums = eval_step(state_lib.eval_params(state), state.model_state, setup.parallel.put_batch(batch))
      totals = sums if totals is None else jax.tree.map(jnp.add, totals, sums)
    totals = jax.device_get(setup.parallel.to_global(totals))
    means = {k: float(v / totals["count"]) for k, v in totals.items() if k != "count"}
    if isinstance(setup.task, contract.CorpusMetrics):
      means = setup.task.corpus_metrics(means)
    out.update({f"{split}_{k}": v for k, v in means.items()})
  return out


def check_initial_loss(setup: Setup, first_step_metrics) -> dict[str, float]:
  """The notes' first babysitting check: at step 0 the loss should be near its chance value. Read from the first
  training step, whose loss is computed at the initial parameters (a check of its own would compile the
  model's loss once more)."""
  loss = float(jax.device_get(setup.parallel.to_global(first_step_metrics["loss"])))
  expected = setup.task.expected_initial_loss()
  if not math.isfinite(loss) or abs(loss - expected) > 0.5 * expected:
    logging.warning("initial loss %.4g is far from the expected %.4g (log C for softmax): check the "
                    "initialization, the output layer and the labels", loss, expected)
  return {"loss": loss, "expected_loss": expected}


def write_eval_samples(setup: Setup, state, examples, workdir: str, step: int, seed: int) -> list[str]:
  """The task's sample grids of this step (contract.SamplesEachEval), drawn from the run's seed every time."""
  trained = setup.parallel.to_global(state)
  samples = setup.task.sample_fn(state_lib.eval_params(trained), trained.model_state, jax.random.PRNGKey(seed), workdir,
                                 examples=examples)
  return plots.sample_grids(os.path.join(workdir, "plots", "samples"), samples, f"step {step}", f"step_{step:06d}")


@contextlib.contextmanager
def stop_requests():
  """Turns SIGTERM and Ctrl-C into a request the loop honours at the next step boundary."""
  requested: list[int] = []
  handler = lambda signum, frame: requested.append(signum)  # noqa: E731
  previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
  try:
    yield requested
  finally:
    for s, h in previous.items():
      signal.signal(s, h)


def stop_agreed(stop: list[int], step: int, every: int) -> bool:
  """Whether to stop after `step`: at once in one process; in a multi-host run, where the processes checkpoint
  together, all at the first multiple of `every` after any of them was asked to (they agree by an allgather)."""
  if jax.process_count() == 1:
    return bool(stop)
  return step % every == 0 and bool(multihost_utils.process_allgather(np.int32(bool(stop))).any())


def abstract_state(state):
  """Shapes, dtypes and shardings of `state`: what orbax restores into."""
  return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), state)


def _raise_if_diverged(setup: Setup, state, ckpt: Checkpoints) -> None:
  bad = int(jax.device_get(setup.parallel.to_global(state.bad_step)))
  if bad >= 0:
    ckpt.wait()
    last = ckpt.latest_step()
    where = f"the last good checkpoint is step {last} in {ckpt.directory}" if last else "no checkpoint was saved"
    raise Diverged(f"loss became NaN/Inf at step {bad + 1}; stopped there, {where}")


def train_and_evaluate(config: Config, workdir: str) -> dict:
  """Trains `config` in `workdir` (resuming what is there), evaluates, writes summary.json; returns it."""
  wall_start = time.perf_counter()
  setup = build(config)
  state, sample = init_state(setup, config)  # settings and shapes are checked before the workdir is touched
  prepare_workdir(workdir, config, setup.dataset.artifacts)
  parallel, task, dataset = setup.parallel, setup.task, setup.dataset
  monitor = f"val_{task.monitor}"  # only validation chooses; test is reported
  ckpt = Checkpoints(os.path.join(workdir, "checkpoints"), config.keep_checkpoints, monitor, task.monitor_mode)
  primary = jax.process_index() == 0
  train_iter = pipeline.train_batches(dataset.splits["train"], config.batch_size, config.seed,
                                      consecutive=getattr(task, "consecutive_batches", False))
  start = ckpt.latest_step() or 0
  if start:
    restored, data_state = ckpt.restore(start, abstract_state(parallel.to_global(state)))
    state = parallel.put_state(restored)
    train_iter.set_state(data_state)
    print(f"jaxdl: resuming from step {start} in {ckpt.directory}", file=sys.stderr)
  writer = MetricWriter(workdir, resume_step=start, enabled=primary)
  early = EarlyStopping.from_rows(writer.rows, monitor, task.monitor_mode, config.early_stop_patience)

  train_step = parallel.compile_train_step(make_train_step(task, setup.tx, parallel.axis_name, setup.augment))
  eval_step = parallel.compile_eval_step(make_eval_step(task, parallel.axis_name))
  batches = pipeline.device_prefetch(train_iter, parallel.put_batch)
  final, postfix, loop_s, eval_s, timed_steps, stopped_early = {}, {}, 0.0, 0.0, 0, early.should_stop
  train_start = time.perf_counter()
  bar = tqdm.tqdm(total=config.steps, initial=start, unit="step", dynamic_ncols=True, file=sys.stderr,
                  mininterval=0.5 if sys.stderr.isatty() else 30, desc=f"{config.model} on {config.data}")
  try:
    with stop_requests() as stop:
      loop_start, step = None, start
      end = start if stopped_early else config.steps  # a run that already stopped early stays stopped
      for step in range(start + 1, end + 1):
        batch, data_state = next(batches)
        state, step_metrics = train_step(state, batch)
        if loop_start is None:  # time steady-state steps only: the first one compiles
          jax.block_until_ready(state.step)
          loop_start, first_step = time.perf_counter(), step
          if step == 1:
            writer.write(0, "init", check_initial_loss(setup, step_metrics))
        bar.update()
        last = step == config.steps
        if step % config.log_every == 0 or last:  # not on a stop: the sums in the state carry over exactly
          _raise_if_diverged(setup, state, ckpt)
          sums = jax.device_get(parallel.to_global(state.metric_sums))
          train = {k: float(v / sums["steps"]) for k, v in sums.items() if k != "steps"}
          writer.write(step, "train", train)
          state = state_lib.reset_metric_sums(state)
          postfix["loss"] = f"{train['loss']:.4f}"
          bar.set_postfix(postfix, refresh=False)
        metrics = None
        if (config.eval_every and step % config.eval_every == 0) or last:
          eval_start = time.perf_counter()
          metrics = evaluate(setup, eval_step, state, config.batch_size)
          writer.write(step, "eval", metrics)
          if isinstance(task, contract.SamplesEachEval) and task.samples_each_eval:
            write_eval_samples(setup, state, sample, workdir, step, config.seed)
          if loop_start is not None:
            eval_s += time.perf_counter() - eval_start  # evaluation is work, not loop overhead
          postfix[monitor] = f"{metrics[monitor]:.4f}"
          bar.set_postfix(postfix, refresh=False)
          final = metrics
          early.update(metrics[monitor])
          stopped_early = early.should_stop
        stopping = stop_agreed(stop, step, config.log_every)
        # Every evaluated step is checkpointed too: it may be the best one, which is kept and early stopping restores.
        if step % config.checkpoint_every == 0 or last or stopping or metrics is not None:
          _raise_if_diverged(setup, state, ckpt)
          ckpt.save(step, parallel.to_global(state), data_state, {monitor: metrics[monitor]} if metrics else None)
        if stopping:
          ckpt.wait()
          why = f"signal {stop[0]}" if stop else "a signal to another process"
          raise Interrupted(f"stopped by {why} after step {step}; checkpoint saved in {ckpt.directory}: rerun the "
                            "same command to resume")
        if stopped_early:
          break
      jax.block_until_ready(state)
      if loop_start is not None:
        loop_s, timed_steps = time.perf_counter() - loop_start, step - first_step
    train_s = time.perf_counter() - train_start
    ckpt.wait()
    best_step = ckpt.best_step()
    if stopped_early:  # continue from the best checkpoint, as early stopping promises
      print(f"jaxdl: {monitor} has not improved for {early.patience} evaluations; stopped early, restoring "
            f"the best checkpoint (step {best_step})", file=sys.stderr)
      state = parallel.put_state(ckpt.restore(best_step, abstract_state(parallel.to_global(state)))[0])
      final = {}
    if not final:  # nothing left to train (a finished run asked again), or the best state restored
      final = evaluate(setup, eval_step, state, config.batch_size)
    if isinstance(task, contract.FinalMetrics):
      trained = parallel.to_global(state)
      final = {**final, **task.final_metrics(state_lib.eval_params(trained), trained.model_state, dataset,
                                             jax.random.PRNGKey(config.seed))}
  finally:
    bar.close()
    writer.close()
    ckpt.close()
    train_iter.close()  # stops grain's prefetch thread, which would otherwise keep a failed process alive
  params = parallel.to_host(parallel.to_global(state).params)
  result = {
      "final": final, "steps": config.steps, "steps_run": step - start,
      "wall_s": time.perf_counter() - wall_start, "train_s": train_s,
      "steps_per_s": timed_steps / (loop_s - eval_s) if loop_s else None,  # training steps only
      "params_count": state_lib.count_params(params),
      "params_by_module": {name: state_lib.count_params(sub) for name, sub in params.items()},  # top level
      "params_fingerprint": summary_lib.params_fingerprint(params),
      "best_checkpoint_step": best_step,
      "stopped_early": bool(stopped_early),
      **summary_lib.provenance(),
  }
  if primary:
    plots.plot_metrics(workdir)
    summary_lib.write_summary(workdir, result)
  return result


def restore_checkpoint(config: Config, workdir: str, best: bool = False) -> tuple[Setup, state_lib.TrainState, int]:
  """The run's pieces and the train state of the latest checkpoint in `workdir` (for eval), or with `best` of the
  one validation ranked best (for sampling)."""
  setup = build(config)
  ckpt = Checkpoints(os.path.join(workdir, "checkpoints"), config.keep_checkpoints, f"val_{setup.task.monitor}",
                     setup.task.monitor_mode, create=False)
  try:
    step = (best and ckpt.best_step()) or ckpt.latest_step()
    restored, _ = ckpt.restore(step, restore_target(setup, config))
  finally:
    ckpt.close()
  return setup, setup.parallel.put_state(restored), step


def evaluate_checkpoint(config: Config, workdir: str) -> dict[str, float]:
  """`--mode=eval`: the eval metrics of the latest checkpoint in `workdir`."""
  setup, state, step = restore_checkpoint(config, workdir)
  eval_step = setup.parallel.compile_eval_step(make_eval_step(setup.task, setup.parallel.axis_name))
  return {"step": step, **evaluate(setup, eval_step, state, config.batch_size)}
