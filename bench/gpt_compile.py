"""What `nn.scan` and rematerialization buy on a 12-layer GPT's training step: compile time with the layers
scanned (one compiled body) against unrolled (twelve), and the step's peak temporary memory (XLA's memory
analysis of the compiled program: activations kept for the backward pass and workspace) for each --remat policy,
scanned and unrolled (on CPU, remat saves memory only scanned: XLA:CPU computes an unrolled stack's recomputation
early).

Prints one JSON line per measurement, all in one run (ratios are against the first line of their kind: compile
time against the scanned stack's, memory against the scanned stack's without remat).

  python bench/gpt_compile.py [--model_args=width=768,context=256] [--batch_size=8]
"""

import json
import time

import jax
import numpy as np
from absl import app, flags

from jaxdl import args, optim
from jaxdl.models.gpt import GPT
from jaxdl.tasks.language_model import LanguageModel
from jaxdl.train import state as state_lib
from jaxdl.train.step import make_train_step

_BATCH = flags.DEFINE_integer("batch_size", 8, "Sequences per step.")
_MODEL_ARGS = flags.DEFINE_string("model_args", "", "Overrides of the 12-layer GPT's fields.")
_POLICIES = flags.DEFINE_list("remat", ["none", "full", "dots", "dots_no_batch"], "Policies whose memory to read.")

GPT_12_LAYERS = dict(num_classes=65, num_layers=12, num_heads=12, width=768, context=256)


def compile_step(fields: dict):
  """(seconds to trace and lower, seconds to compile, the compiled step) for one GPT configuration."""
  model = GPT(**fields)
  task = LanguageModel(model, model.num_classes)
  tx = optim.create("adamw", 6e-4, weight_decay=0.1, clip_norm=1.0)
  tokens = np.zeros((_BATCH.value, model.context + 1), np.int32)
  batch = {"tokens": jax.ShapeDtypeStruct(tokens.shape, tokens.dtype)}
  state = jax.eval_shape(lambda rng: state_lib.create(task, tx, rng, {"tokens": tokens}), jax.random.PRNGKey(0))
  start = time.perf_counter()
  lowered = jax.jit(make_train_step(task, tx), donate_argnums=0).lower(state, batch)
  lowered_s = time.perf_counter() - start
  start = time.perf_counter()
  compiled = lowered.compile()
  return lowered_s, time.perf_counter() - start, compiled


def main(argv):
  del argv
  jax.config.update("jax_enable_compilation_cache", False)  # time XLA, not a cache hit
  fields = {**GPT_12_LAYERS, **args.parse(_MODEL_ARGS.value, GPT, "model_args")}
  base, without_remat = None, {}
  for scan in (True, False):
    lower_s, compile_s, without_remat[scan] = compile_step({**fields, "scan": scan})
    base = base or lower_s + compile_s
    print(json.dumps({"benchmark": "gpt_compile", "device": jax.devices()[0].device_kind,
                      "layers": fields["num_layers"], "scan": scan, "trace_lower_s": round(lower_s, 2),
                      "compile_s": round(compile_s, 2),
                      "total_vs_scan": round((lower_s + compile_s) / base, 2)}), flush=True)
  base = None
  for scan in (True, False):
    for policy in _POLICIES.value:
      compiled = without_remat[scan] if policy == "none" else compile_step({**fields, "scan": scan, "remat": policy})[2]
      memory = compiled.memory_analysis()
      base = base or memory.temp_size_in_bytes
      print(json.dumps({"benchmark": "gpt_remat_memory", "device": jax.devices()[0].device_kind, "scan": scan,
                        "remat": policy, "batch_size": _BATCH.value, "context": fields["context"],
                        "temp_mib": round(memory.temp_size_in_bytes / 2**20, 1),
                        "arguments_mib": round(memory.argument_size_in_bytes / 2**20, 1),
                        "temp_vs_scanned_none": round(memory.temp_size_in_bytes / base, 3)}), flush=True)


if __name__ == "__main__":
  app.run(main)
