"""Loop overhead: the full jaxdl loop vs a bare loop of the same jitted step on the same data, one process.

The full loop has the progress bar, metric logging, TensorBoard, the NaN guard, the grain
pipeline with device prefetch and asynchronous checkpoints at the experiment's cadence. The
bare loop replays the same batches, already on the device, through the same compiled step.
Both time steady-state steps only (after the first, compiling step). Periodic evaluation is
off in both (it is work, not overhead); the full loop's final eval is outside its timing.
Prints one JSON line; `ratio` = full / bare time per step, each the best of the interleaved
repeats (timeit's rule: the minimum is the least disturbed by the machine; on this 2-core VM
identical repeats differ by up to 30%), goal <= 1.05; medians and every repeat are printed too.

  python bench/loop_overhead.py [--experiment=experiments/digits_lenet5.flags] [--repeats=5]
"""

import dataclasses
import json
import os
import statistics

import jax
from absl import app, flags, logging

from jaxdl import runtime
from jaxdl.config import load_flagfile
from timing import bare_seconds_per_step, full_seconds_per_step

_FLAGFILE = flags.DEFINE_string("experiment", os.path.join(os.path.dirname(__file__), "..", "experiments",
                                                         "digits_lenet5.flags"), "Experiment flag file to time.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Interleaved repeats of each loop.")


def main(argv):
  del argv
  runtime.keep_freed_memory()  # as the jaxdl command does
  logging.set_verbosity(logging.WARNING)
  config = dataclasses.replace(load_flagfile(_FLAGFILE.value), eval_every=0)
  bare, full = [], []
  for _ in range(_REPEATS.value):
    bare.append(bare_seconds_per_step(config))
    full.append(full_seconds_per_step(config))
  result = {
      "benchmark": "loop_overhead", "experiment": os.path.basename(_FLAGFILE.value), "steps": config.steps,
      "log_every": config.log_every, "checkpoint_every": config.checkpoint_every, "repeats": _REPEATS.value,
      "bare_ms_per_step": round(1e3 * min(bare), 3),
      "full_ms_per_step": round(1e3 * min(full), 3),
      "ratio": round(min(full) / min(bare), 4),
      "median_ratio": round(statistics.median(full) / statistics.median(bare), 4),
      "device": f"{jax.device_count()} x {jax.devices()[0].device_kind}",
      "all_bare_ms": [round(1e3 * x, 3) for x in bare], "all_full_ms": [round(1e3 * x, 3) for x in full],
  }
  print(json.dumps(result), flush=True)


if __name__ == "__main__":
  app.run(main)
