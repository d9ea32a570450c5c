"""Model FLOPs utilization of a GPT training step: GPT-2 small (124M parameters, context 1024, vocabulary 50,304)
in bfloat16 by default, its layers unrolled as GPT's default is (`--model_args=scan=true` for one scanned body),
the jaxdl train step (AdamW, clipping) jitted bare on random tokens.

Prints one JSON line: ms per step, the FLOPs per step it assumed (`jaxdl.models.gpt.train_flops_per_token`:
6 N + 12 L d T per token) and, on a chip whose peak it knows, MFU = achieved / peak FLOP/s. With `--profile_dir`
it then traces `--profile_steps` more steps there (TensorBoard's profile plugin or ui.perfetto.dev read the trace)
and, on a GPU, adds where their kernel time went (`trace_table.py`: busy share, matmul / attention / other, the
largest kernels).

  python bench/gpt_mfu.py [--batch_size=16] [--steps=20] [--model_args=num_layers=2,num_heads=4,width=64,context=128]
      [--profile_dir=/tmp/gpt_mfu_trace]
"""

import json
import time

import jax
import numpy as np
from absl import app, flags

from jaxdl import args, optim, runtime
from jaxdl.models.gpt import GPT, train_flops_per_token
from jaxdl.tasks.language_model import LanguageModel
from jaxdl.train import state as state_lib
from jaxdl.train.setup import DTYPES
from jaxdl.train.step import make_train_step
from trace_table import newest_trace, summarize

_BATCH = flags.DEFINE_integer("batch_size", 16, "Sequences per step.")
_STEPS = flags.DEFINE_integer("steps", 20, "Timed steps (after one that compiles).")
_MODEL_ARGS = flags.DEFINE_string("model_args", "", "Overrides of GPT-2 small's fields, e.g. for a CPU check.")
_DTYPE = flags.DEFINE_string("dtype", "bfloat16", "Computation dtype (parameters stay float32).")
_PROFILE_DIR = flags.DEFINE_string("profile_dir", None, "Trace --profile_steps more steps with jax.profiler here.")
_PROFILE_STEPS = flags.DEFINE_integer("profile_steps", 3, "Steps traced with --profile_dir.")

# Dense bfloat16 peaks (FLOP/s) of the chips this knows, from their vendors' data sheets.
PEAK_BF16 = {"NVIDIA H100 80GB HBM3": 989e12, "NVIDIA H200": 989e12, "NVIDIA A100-SXM4-80GB": 312e12,
             "NVIDIA A100-SXM4-40GB": 312e12, "TPU v4": 275e12, "TPU v5e": 197e12}
GPT2_SMALL = dict(num_classes=50_304, num_layers=12, num_heads=12, width=768, context=1024)


def main(argv):
  del argv
  runtime.keep_freed_memory()  # as the jaxdl command does
  fields = {**GPT2_SMALL, **args.parse(_MODEL_ARGS.value, GPT, "model_args"), "dtype": DTYPES[_DTYPE.value]}
  model = GPT(**fields)
  task = LanguageModel(model, model.num_classes)
  tx = optim.create("adamw", 6e-4, weight_decay=0.1, clip_norm=1.0)
  tokens = np.random.default_rng(0).integers(0, model.num_classes, (_BATCH.value, model.context + 1), np.int32)
  batch = {"tokens": jax.device_put(tokens)}
  state = jax.jit(state_lib.create, static_argnums=(0, 1))(task, tx, jax.random.PRNGKey(0), batch)
  step = jax.jit(make_train_step(task, tx), donate_argnums=0)
  state, _ = step(state, batch)
  jax.block_until_ready(state)
  start = time.perf_counter()
  for _ in range(_STEPS.value):
    state, _ = step(state, batch)
  jax.block_until_ready(state)
  seconds = (time.perf_counter() - start) / _STEPS.value
  num_params = state_lib.count_params(state.params)
  flops = train_flops_per_token(model, num_params) * _BATCH.value * model.context
  kind = jax.devices()[0].device_kind
  peak = PEAK_BF16.get(kind)
  result = {
      "benchmark": "gpt_mfu", "device": kind, "dtype": _DTYPE.value, "params": num_params,
      "batch_size": _BATCH.value, "context": model.context, "ms_per_step": round(seconds * 1e3, 2),
      "flops_per_step": flops, "achieved_tflops": round(flops / seconds / 1e12, 2),
      "peak_tflops": peak and peak / 1e12, "mfu": peak and round(flops / seconds / peak, 4)}
  if _PROFILE_DIR.value:
    jax.profiler.start_trace(_PROFILE_DIR.value)
    for _ in range(_PROFILE_STEPS.value):
      state, _ = step(state, batch)
    jax.block_until_ready(state)
    jax.profiler.stop_trace()
    result["trace"] = newest_trace(_PROFILE_DIR.value)
    if jax.default_backend() == "gpu":
      result["profile"] = summarize(result["trace"], _PROFILE_STEPS.value)
  print(json.dumps(result), flush=True)


if __name__ == "__main__":
  app.run(main)
