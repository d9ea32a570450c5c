"""Character-LSTM training throughput (experiments/shakespeare_lstm.flags: 2 x 256 LSTM, batch 32, 64 steps).

Prints one JSON line, every figure from this run: training tokens/s of the full jaxdl loop and of a bare loop
of the same jitted step (`loop_ratio`, goal <= 1.05); the recurrence as one `lax.scan` against the scan fully
unrolled (what a Python loop over time compiles to); and a straightforward flax model (nn.RNN of nn.LSTMCell,
the same sizes, Adam) stepped bare on the same batches.

  python bench/lstm_throughput.py --text=PATH/tinyshakespeare.txt [--steps=30]
"""

import dataclasses
import json
import time

import flax.linen as nn
import jax
import optax
from absl import app, flags, logging

from jaxdl import runtime
from jaxdl.data import pipeline
from jaxdl.train.setup import build
from timing import bare_seconds_per_step, full_seconds_per_step, timed_config

_TEXT = flags.DEFINE_string("text", None, "A UTF-8 text file (tiny shakespeare for the figures in the README).",
                            required=True)
_STEPS = flags.DEFINE_integer("steps", 30, "Steps per timed loop (the first, compiling one is not timed).")


class PlainLSTM(nn.Module):
  """What a flax user writes first: embedding, two nn.RNN(nn.LSTMCell) layers, a linear head."""

  vocab: int

  @nn.compact
  def __call__(self, tokens):
    x = nn.Embed(self.vocab, 64)(tokens)
    for _ in range(2):
      x = nn.RNN(nn.LSTMCell(256))(x)
    return nn.Dense(self.vocab)(x)


def plain_seconds_per_step(config) -> float:
  setup = build(config)
  it = pipeline.train_batches(setup.dataset.splits["train"], config.batch_size, config.seed)
  batches = [next(it)["tokens"] for _ in range(config.steps)]
  it.close()
  model, tx = PlainLSTM(setup.dataset.num_classes), optax.adam(config.lr)
  params = model.init(jax.random.PRNGKey(0), batches[0][:, :-1])
  opt_state = tx.init(params)

  @jax.jit
  def step(params, opt_state, tokens):
    loss = lambda p: optax.softmax_cross_entropy_with_integer_labels(  # noqa: E731
        model.apply(p, tokens[:, :-1]), tokens[:, 1:]).mean()
    grads = jax.grad(loss)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state

  params, opt_state = jax.block_until_ready(step(params, opt_state, batches[0]))
  start = time.perf_counter()
  for tokens in batches[1:]:
    params, opt_state = step(params, opt_state, tokens)
  jax.block_until_ready(params)
  return (time.perf_counter() - start) / (config.steps - 1)


def main(argv):
  del argv
  runtime.keep_freed_memory()  # as the jaxdl command does
  logging.set_verbosity(logging.WARNING)
  config = timed_config("experiments/shakespeare_lstm.flags", _STEPS.value, data=f"text:{_TEXT.value}")
  tokens = config.batch_size * 64
  bare, full = bare_seconds_per_step(config), full_seconds_per_step(config)
  unrolled = bare_seconds_per_step(dataclasses.replace(config, model_args=config.model_args + ",unroll=64"))
  plain = plain_seconds_per_step(config)
  print(json.dumps({
      "benchmark": "lstm_throughput", "device": f"{jax.device_count()} x {jax.devices()[0].device_kind}",
      "batch_size": config.batch_size, "window": 64, "steps": config.steps,
      "bare_ms_per_step": round(bare * 1e3, 1), "full_ms_per_step": round(full * 1e3, 1),
      "loop_ratio": round(full / bare, 4), "tokens_per_s": round(tokens / full),
      "unrolled_ms_per_step": round(unrolled * 1e3, 1), "unrolled_over_scan": round(unrolled / bare, 2),
      "plain_flax_ms_per_step": round(plain * 1e3, 1), "plain_flax_over_jaxdl_bare": round(plain / bare, 2)}),
      flush=True)


if __name__ == "__main__":
  app.run(main)
