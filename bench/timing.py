"""Timing shared by the benchmarks: the full jaxdl loop vs a bare loop of the same jitted step; a convolution's ops."""

import tempfile
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp

from jaxdl.config import Config, load_flagfile
from jaxdl.data import pipeline
from jaxdl.nn import matmul_conv
from jaxdl.train import loop
from jaxdl.train.setup import build
from jaxdl.train.step import make_train_step


# Before each timed loop: the other side's idle worker threads (OpenMP's, XLA's) spin for a while after their last
# parallel region and would take the cores from the loop that starts next.
SETTLE_S = 0.5


def timed_config(flagfile: str, steps: int, **overrides) -> Config:
  """The experiment with `steps` steps and nothing periodic inside them (no evaluation, one log line and checkpoint
  at the end, no warmup), so a loop of it times training steps alone."""
  return load_flagfile(flagfile, steps=steps, eval_every=0, log_every=steps, checkpoint_every=steps, warmup_steps=0,
                       **overrides)


def alternating_rounds(timers: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
  """Each timer's figure (rounded to 0.1) for `rounds` rounds, the timers taking turns at going first and each
  started `SETTLE_S` after the last, so a slow spell of a shared machine hits all of them."""
  times = {name: [] for name in timers}
  for round_ in range(rounds):
    for name in list(timers)[::-1 if round_ % 2 else 1]:
      time.sleep(SETTLE_S)
      times[name].append(round(timers[name](), 1))
  return times


def bare_step_loop(config):
  """Compiles the step and returns `run(n)`: seconds per step over `n` steady-state steps of the same compiled step,
  replaying `config.steps` batches already on the device; the state carries over from one call to the next."""
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

  def run(n: int) -> float:
    nonlocal state
    start = time.perf_counter()
    for i in range(n):
      state, _ = step(state, batches[(i + 1) % len(batches)])
    jax.block_until_ready(state)
    return (time.perf_counter() - start) / n

  return run


def bare_seconds_per_step(config) -> float:
  """One loop of `config.steps - 1` steady-state steps (the first, compiling step is not timed)."""
  return bare_step_loop(config)(config.steps - 1)


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


NHWC = ("NHWC", "HWIO", "NHWC")


def conv_ops_ms(formulation: str, batch: int, size: int, channels: int, features: int, kernel: int, stride: int,
                padding: int, groups: int, dtype: str) -> dict:
  """Forward, input gradient, weight gradient and all three of one convolution, best of 3, in milliseconds.
  `formulation`: a `--conv_impl` value."""
  kx, kw, kc = jax.random.split(jax.random.PRNGKey(0), 3)
  x = jax.random.normal(kx, (batch, size, size, channels), dtype)
  w = (jax.random.normal(kw, (kernel, kernel, channels // groups, features)) / kernel / channels ** 0.5).astype(dtype)
  pads = ((padding, padding), (padding, padding))

  def conv(x, w):
    with matmul_conv.use(formulation):
      return matmul_conv.conv_general_dilated(x, w, (stride, stride), pads, dimension_numbers=NHWC,
                                              feature_group_count=groups)

  cotangent = jax.random.normal(kc, jax.eval_shape(conv, x, w).shape, dtype)
  loss = lambda x, w: jnp.vdot(conv(x, w), cotangent)
  ops = {"forward": jax.jit(conv), "input_grad": jax.jit(jax.grad(loss, 0)), "weight_grad": jax.jit(jax.grad(loss, 1)),
         "all": jax.jit(lambda x, w: (lambda y, pullback: (y, pullback(cotangent)))(*jax.vjp(conv, x, w)))}
  return {name: round(best_seconds(fn, x, w, repeats=3) * 1e3, 1) for name, fn in ops.items()}
