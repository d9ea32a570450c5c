"""The training loop: one jitted, donated `train_step`; logging, eval and checkpoints around it, never inside.

A run killed at any point and restarted with the same flags resumes from its last checkpoint
and ends bit-identical to an uninterrupted run: the step's keys are fold_in(rng, step), the
data order is a function of (seed, step), and logged train metrics are sums kept in the state.
"""

import contextlib
import dataclasses
import math
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import tqdm
from absl import logging
from jax.experimental import multihost_utils

from jaxdl.config import Config
from jaxdl.data import pipeline
from jaxdl.tasks import contract
from jaxdl.tasks.contract import Batch, Metrics
from jaxdl.train import checkpoint, plots, summary as summary_lib, workdir as workdir_lib
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


def split_means(source, batch_size: int, sums_fn: Callable[[Batch], Metrics],
                gather: Callable = lambda tree: tree) -> dict[str, float]:
  """Means over every example of one split of the per-example metrics whose sums (and "count") `sums_fn` returns
  for a batch; `gather` brings the summed tree to one place first (a sharded run's `to_global`)."""
  totals = None
  for batch in pipeline.eval_batches(source, batch_size):
    sums = sums_fn(batch)
    totals = sums if totals is None else jax.tree.map(jnp.add, totals, sums)
  totals = jax.device_get(gather(totals))
  return {k: float(v / totals["count"]) for k, v in totals.items() if k != "count"}


def evaluate(setup: Setup, eval_step, state, batch_size: int) -> dict[str, float]:
  """Means of the task's per-example metrics over every example of each eval split."""
  params, put = state_lib.eval_params(state), setup.parallel.put_batch
  out = {}
  for split in setup.dataset.eval_splits:
    means = split_means(setup.dataset.splits[split], batch_size,
                        lambda batch: eval_step(params, state.model_state, put(batch)), setup.parallel.to_global)
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


@dataclasses.dataclass
class Run:
  """One training run's pieces, which the loop's steps share; `open_run` resumes it, `close` ends it."""

  config: Config
  workdir: str
  setup: Setup
  ckpt: Checkpoints
  writer: MetricWriter
  early: EarlyStopping
  train_iter: Any
  examples: Batch  # the batch that shaped the state: the fixed inputs of the per-evaluation sample grids
  start: int       # the step it resumed after (0: a new run)
  lock: workdir_lib.Lock | None  # held while the run lives (process 0 of a multi-host run)
  bar: Any = None
  postfix: dict = dataclasses.field(default_factory=dict)

  @property
  def monitor(self) -> str:
    return f"val_{self.setup.task.monitor}"  # only validation chooses; test is reported

  def close(self) -> None:
    if self.bar is not None:
      self.bar.close()
    self.writer.close()
    self.ckpt.close()
    self.train_iter.close()  # stops grain's prefetch thread, which would otherwise keep a failed process alive
    if self.lock:
      self.lock.release()


def open_run(config: Config, workdir: str):
  """(run, its train state): built, the workdir checked and held, resumed from its last checkpoint if any."""
  setup = build(config)
  state, examples = init_state(setup, config)  # settings and shapes are checked before the workdir is touched
  lock = workdir_lib.prepare(workdir, config, setup.dataset.artifacts)
  try:
    return _resume(config, workdir, setup, state, examples, lock)
  except BaseException:
    if lock:
      lock.release()
    raise


def _resume(config: Config, workdir: str, setup: Setup, state, examples, lock):
  task = setup.task
  ckpt = Checkpoints(os.path.join(workdir, "checkpoints"), config.keep_checkpoints, f"val_{task.monitor}",
                     task.monitor_mode)
  train_iter = pipeline.train_batches(setup.dataset.splits["train"], config.batch_size, config.seed,
                                      consecutive=isinstance(task, contract.ConsecutiveBatches)
                                      and task.consecutive_batches)
  start = ckpt.latest_step() or 0
  if start:
    restored, data_state = ckpt.restore(start, abstract_state(setup.parallel.to_global(state)))
    state = setup.parallel.put_state(restored)
    train_iter.set_state(data_state)
    print(f"jaxdl: resuming from step {start} in {ckpt.directory}", file=sys.stderr)
  writer = MetricWriter(workdir, resume_step=start, enabled=jax.process_index() == 0)
  early = EarlyStopping.from_rows(writer.rows, f"val_{task.monitor}", task.monitor_mode, config.early_stop_patience)
  return Run(config, workdir, setup, ckpt, writer, early, train_iter, examples, start, lock), state


@dataclasses.dataclass
class Clock:
  """Steady-state training time: from the end of the first step run (which compiles) to the last, less the time
  spent evaluating (work, but not the loop's)."""

  first_step: int | None = None
  started: float = 0.0
  eval_s: float = 0.0
  loop_s: float = 0.0
  timed_steps: int = 0

  def start(self, state, step: int) -> None:
    jax.block_until_ready(state.step)
    self.first_step, self.started = step, time.perf_counter()

  @contextlib.contextmanager
  def evaluating(self):
    began = time.perf_counter()
    yield
    self.eval_s += time.perf_counter() - began

  def stop(self, state, step: int) -> None:
    jax.block_until_ready(state)
    if self.first_step is not None:
      self.loop_s, self.timed_steps = time.perf_counter() - self.started, step - self.first_step

  @property
  def steps_per_s(self) -> float | None:
    return self.timed_steps / (self.loop_s - self.eval_s) if self.loop_s else None  # training steps only


def raise_if_diverged(run: Run, state) -> None:
  bad = int(jax.device_get(run.setup.parallel.to_global(state.bad_step)))
  if bad >= 0:
    run.ckpt.wait()
    last = run.ckpt.latest_step()
    where = f"the last good checkpoint is step {last} in {run.ckpt.directory}" if last else "no checkpoint was saved"
    raise Diverged(f"loss became NaN/Inf at step {bad + 1}; stopped there, {where}")


def log_train(run: Run, state, step: int):
  """Writes the mean of the train metrics summed since the last row and starts new sums; returns the state. Not
  on a stop: the sums in the state carry over exactly."""
  raise_if_diverged(run, state)
  sums = jax.device_get(run.setup.parallel.to_global(state.metric_sums))
  train = {k: float(v / sums["steps"]) for k, v in sums.items() if k != "steps"}
  run.writer.write(step, "train", train)
  run.postfix["loss"] = f"{train['loss']:.4f}"
  run.bar.set_postfix(run.postfix, refresh=False)
  return state_lib.reset_metric_sums(state)


def evaluate_and_draw(run: Run, eval_step, state, step: int) -> dict[str, float]:
  """The eval splits' metrics (written, shown, counted by early stopping) and, for a task that asks, its samples."""
  metrics = evaluate(run.setup, eval_step, state, run.config.batch_size)
  run.writer.write(step, "eval", metrics)
  task = run.setup.task
  if isinstance(task, contract.SamplesEachEval) and task.samples_each_eval:
    write_eval_samples(run.setup, state, run.examples, run.workdir, step, run.config.seed)
  run.postfix[run.monitor] = f"{metrics[run.monitor]:.4f}"
  run.bar.set_postfix(run.postfix, refresh=False)
  run.early.update(metrics[run.monitor])
  return metrics


def save(run: Run, state, step: int, data_state, metrics: dict | None) -> None:
  raise_if_diverged(run, state)
  run.ckpt.save(step, run.setup.parallel.to_global(state), data_state,
                {run.monitor: metrics[run.monitor]} if metrics else None)


def interrupted(run: Run, stop: list[int], step: int) -> Interrupted:
  run.ckpt.wait()
  why = f"signal {stop[0]}" if stop else "a signal to another process"
  return Interrupted(f"stopped by {why} after step {step}; checkpoint saved in {run.ckpt.directory}: rerun the "
                     "same command to resume")


def run_steps(run: Run, state, eval_step, clock: Clock):
  """Steps from where the run resumed to --steps (or an early stop); returns (state, last step, last eval)."""
  config, parallel = run.config, run.setup.parallel
  train_step = parallel.compile_train_step(make_train_step(run.setup.task, run.setup.tx, parallel.axis_name,
                                                           run.setup.augment))
  batches = pipeline.device_prefetch(run.train_iter, parallel.put_batch)
  step, final = run.start, {}
  end = run.start if run.early.should_stop else config.steps  # a run that already stopped early stays stopped
  with stop_requests() as stop:
    for step in range(run.start + 1, end + 1):
      batch, data_state = next(batches)
      state, step_metrics = train_step(state, batch)
      if clock.first_step is None:
        clock.start(state, step)
        if step == 1:
          run.writer.write(0, "init", check_initial_loss(run.setup, step_metrics))
      run.bar.update()
      last = step == config.steps
      if step % config.log_every == 0 or last:
        state = log_train(run, state, step)
      metrics = None
      if (config.eval_every and step % config.eval_every == 0) or last:
        with clock.evaluating():
          metrics = final = evaluate_and_draw(run, eval_step, state, step)
      stopping = stop_agreed(stop, step, config.log_every)
      # Every evaluated step is checkpointed too: it may be the best one, which is kept and early stopping restores.
      if step % config.checkpoint_every == 0 or last or stopping or metrics is not None:
        save(run, state, step, data_state, metrics)
      if stopping:
        raise interrupted(run, stop, step)
      if run.early.should_stop:
        break
    clock.stop(state, step)
  return state, step, final


def finish(run: Run, state, eval_step, final: dict[str, float], best_step: int | None):
  """(state, final metrics): the best checkpoint's after an early stop, as it promises; evaluated again where the
  run trained nothing now; with the task's `final_metrics` added."""
  parallel, task = run.setup.parallel, run.setup.task
  if run.early.should_stop:
    print(f"jaxdl: {run.monitor} has not improved for {run.early.patience} evaluations; stopped early, restoring "
          f"the best checkpoint (step {best_step})", file=sys.stderr)
    state = parallel.put_state(run.ckpt.restore(best_step, abstract_state(parallel.to_global(state)))[0])
    final = {}
  if not final:
    final = evaluate(run.setup, eval_step, state, run.config.batch_size)
  if isinstance(task, contract.FinalMetrics):
    trained = parallel.to_global(state)
    final = {**final, **task.final_metrics(state_lib.eval_params(trained), trained.model_state, run.setup.dataset,
                                           jax.random.PRNGKey(run.config.seed))}
  return state, final


def train_and_evaluate(config: Config, workdir: str) -> dict:
  """Trains `config` in `workdir` (resuming what is there), evaluates, writes summary.json; returns it."""
  wall_start = time.perf_counter()
  run, state = open_run(config, workdir)
  parallel, clock = run.setup.parallel, Clock()
  eval_step = parallel.compile_eval_step(make_eval_step(run.setup.task, parallel.axis_name))
  if run.start > config.steps:
    print(f"jaxdl: {workdir} is trained to step {run.start}; --steps={config.steps} trains nothing more: "
          "evaluating it", file=sys.stderr)
  try:
    run.bar = tqdm.tqdm(total=max(config.steps, run.start), initial=run.start, unit="step", dynamic_ncols=True,
                        file=sys.stderr, mininterval=0.5 if sys.stderr.isatty() else 30,
                        desc=f"{config.model} on {config.data}")
    train_start = time.perf_counter()
    state, step, final = run_steps(run, state, eval_step, clock)
    train_s = time.perf_counter() - train_start
    run.ckpt.wait()
    best_step = run.ckpt.best_step()
    state, final = finish(run, state, eval_step, final, best_step)
    params = parallel.to_host(parallel.to_global(state).params)
    result = {
        "final": final, "steps": max(config.steps, run.start), "steps_run": step - run.start,
        "wall_s": time.perf_counter() - wall_start, "train_s": train_s, "steps_per_s": clock.steps_per_s,
        "params_count": state_lib.count_params(params),
        "params_by_module": {name: state_lib.count_params(sub) for name, sub in params.items()},  # top level
        "params_fingerprint": summary_lib.params_fingerprint(params),
        "best_checkpoint_step": best_step,
        "stopped_early": run.early.should_stop,
        **summary_lib.provenance(),
    }
    if jax.process_index() == 0:
      plots.plot_metrics(workdir)
      summary_lib.write_summary(workdir, result)
  finally:
    run.close()  # the workdir's lock last: summary.json is written under it
  return result


def restore_checkpoint(config: Config, workdir: str, best: bool = False) -> tuple[Setup, state_lib.TrainState, int]:
  """The run's pieces and the train state of the latest checkpoint in `workdir` (for eval), or with `best` of the
  one validation ranked best (for sampling)."""
  workdir_lib.check_reads(workdir, config)
  setup = build(config)
  restored, step = checkpoint.read(workdir, restore_target(setup, config), f"val_{setup.task.monitor}",
                                   setup.task.monitor_mode, best=best)
  return setup, setup.parallel.put_state(restored), step


def evaluate_checkpoint(config: Config, workdir: str) -> dict[str, float]:
  """`--mode=eval`: the eval metrics of the latest checkpoint in `workdir`."""
  setup, state, step = restore_checkpoint(config, workdir)
  eval_step = setup.parallel.compile_eval_step(make_eval_step(setup.task, setup.parallel.axis_name))
  return {"step": step, **evaluate(setup, eval_step, state, config.batch_size)}
