"""What scanning a Transformer stack costs per training step: the experiment's bare jitted step with its layers as
one `nn.scan` body (`scan=true`) against unrolled (`scan=false`, the default), in one process. The two loops
alternate round by round, half a second apart, so a slow spell of a shared machine hits both; prints one JSON line
with each round's ms per step and the median of the per-round ratios scanned / unrolled.

  python bench/scan_step.py --experiment=experiments/digits_vit.flags [--data=text:PATH] [--steps=30] [--rounds=6]
"""

import dataclasses
import json
import statistics

import jax
from absl import app, flags, logging

from jaxdl import runtime
from timing import alternating_rounds, bare_step_loop, timed_config

_FLAGFILE = flags.DEFINE_string("experiment", None, "A Transformer experiment's flag file.", required=True)
_DATA = flags.DEFINE_string("data", None, "Overrides the flag file's --data (e.g. text:PATH/tinyshakespeare.txt).")
_STEPS = flags.DEFINE_integer("steps", 30, "Steps per timed loop (the first, compiling step is not timed).")
_ROUNDS = flags.DEFINE_integer("rounds", 6, "Timed loops of each.")


def main(argv):
  del argv
  runtime.keep_freed_memory()  # as the jaxdl command does
  logging.set_verbosity(logging.WARNING)
  steps = _STEPS.value
  config = timed_config(_FLAGFILE.value, steps, **({"data": _DATA.value} if _DATA.value else {}))
  loops = {scan: bare_step_loop(dataclasses.replace(config, model_args=f"{config.model_args},scan={scan}".lstrip(",")))
           for scan in ("true", "false")}  # the last scan= in model_args wins
  ms = alternating_rounds({scan: lambda loop=loop: loop(steps) * 1e3 for scan, loop in loops.items()}, _ROUNDS.value)
  ratios = [round(s / u, 3) for s, u in zip(ms["true"], ms["false"])]
  print(json.dumps({"benchmark": "scan_step", "experiment": _FLAGFILE.value, "device": jax.devices()[0].device_kind,
                    "steps": steps, "scanned_ms_rounds": ms["true"], "unrolled_ms_rounds": ms["false"],
                    "scanned_over_unrolled_rounds": ratios,
                    "scanned_over_unrolled": round(statistics.median(ratios), 3)}), flush=True)


if __name__ == "__main__":
  app.run(main)
