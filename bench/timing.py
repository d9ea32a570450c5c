"""Per-step timing shared by the benchmarks: the full jaxdl loop vs a bare loop of the same jitted step."""

import tempfile
import time

import jax

from jaxdl.data import pipeline
from jaxdl.train import loop
from jaxdl.train.setup import build
from jaxdl.train.step import make_train_step


def bare_seconds_per_step(config) -> float:
  """The same compiled step replaying the same batches, already on the device; steady-state steps only."""
  setup = build(config)
  state, _ = loop.init_state(setup, config)
  step = setup.parallel.compile_train_step(
      make_train_step(setup.task, setup.tx, setup.parallel.axis_name, setup.augment))
  it = pipeline.train_batches(setup.dataset.splits["train"], config.batch_size, config.seed)
  batches = [setup.parallel.put_batch(next(it)) for _ in range(config.steps)]
  it.close()
  jax.block_until_ready(batches)
  state, _ = step(state, batches[0])
  jax.block_until_ready(state)
  start = time.perf_counter()
  for batch in batches[1:]:
    state, _ = step(state, batch)
  jax.block_until_ready(state)
  return (time.perf_counter() - start) / (config.steps - 1)


def full_seconds_per_step(config) -> float:
  """`train_and_evaluate` in a fresh workdir; its summary times steady-state steps the same way."""
  with tempfile.TemporaryDirectory() as workdir:
    return 1.0 / loop.train_and_evaluate(config, workdir)["steps_per_s"]


def best_seconds(fn, *args, repeats: int = 5) -> float:
  """Fastest of `repeats` calls of a compiled function, after one call that compiles it."""
  jax.block_until_ready(fn(*args))
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    times.append(time.perf_counter() - start)
  return min(times)
