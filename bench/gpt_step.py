"""Character-GPT training step time (experiments/shakespeare_gpt.flags: 4 layers, 4 heads, width 128, context 64,
batch 12; its layers unrolled), in one run: the full jaxdl loop, a bare loop of the same jitted step, and the bare
step with the layers as one `nn.scan` body instead.

Prints one JSON line of ms per step.

  python bench/gpt_step.py --text=PATH/tinyshakespeare.txt [--steps=100]
"""

import dataclasses
import json

import jax
from absl import app, flags, logging

from jaxdl import runtime
from jaxdl.config import load_flagfile
from timing import bare_seconds_per_step, full_seconds_per_step

_TEXT = flags.DEFINE_string("text", None, "A UTF-8 text file (tiny shakespeare for the README's figures).",
                            required=True)
_STEPS = flags.DEFINE_integer("steps", 100, "Steps per timed loop (the first, compiling one is not timed).")


def main(argv):
  del argv
  runtime.keep_freed_memory()  # as the jaxdl command does
  logging.set_verbosity(logging.WARNING)
  config = load_flagfile("experiments/shakespeare_gpt.flags", data=f"text:{_TEXT.value}", steps=_STEPS.value,
                         eval_every=0, log_every=_STEPS.value, checkpoint_every=_STEPS.value, warmup_steps=0)
  bare, full = bare_seconds_per_step(config), full_seconds_per_step(config)
  scanned = bare_seconds_per_step(dataclasses.replace(config, model_args=config.model_args + ",scan=true"))
  print(json.dumps({
      "benchmark": "gpt_step", "device": f"{jax.device_count()} x {jax.devices()[0].device_kind}",
      "batch_size": config.batch_size, "context": 64, "steps": config.steps,
      "bare_ms_per_step": round(bare * 1e3, 1), "full_ms_per_step": round(full * 1e3, 1),
      "loop_ratio": round(full / bare, 4), "scanned_layers_ms_per_step": round(scanned * 1e3, 1)}), flush=True)


if __name__ == "__main__":
  app.run(main)
