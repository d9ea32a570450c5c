"""Character-GPT training step time (experiments/shakespeare_gpt.flags: 4 layers, 4 heads, width 128, context 64,
batch 12; its layers unrolled), in one run: a bare loop of the jitted step (`--rounds` loops, each beside a loop
of the PyTorch peer when `--peer_python` names a Python with torch), the full jaxdl loop, and the bare step with
the layers as one `nn.scan` body instead.

Prints one JSON line of ms per step: medians over the rounds, each round's figures, and with the peer the median
of the per-round ratios jaxdl / PyTorch (the two alternate, so a slow spell of a shared machine hits both).

  python bench/gpt_step.py --text=PATH/tinyshakespeare.txt [--steps=100] [--rounds=5]
      [--peer_python=/tmp/torchvenv/bin/python]   # bench/peers/requirements.txt installed there
"""

import dataclasses
import json
import os
import statistics
import subprocess

import jax
from absl import app, flags, logging

from jaxdl import runtime
from timing import alternating_rounds, bare_seconds_per_step, bare_step_loop, full_seconds_per_step, timed_config

_TEXT = flags.DEFINE_string("text", None, "A UTF-8 text file (tiny shakespeare for the README's figures).",
                            required=True)
_STEPS = flags.DEFINE_integer("steps", 100, "Steps per timed loop (the first, compiling one is not timed).")
_ROUNDS = flags.DEFINE_integer("rounds", 5, "Timed loops of the bare step (each beside one of the peer's).")
_PEER = flags.DEFINE_string("peer_python", None, "A Python with torch: times bench/peers/torch_gpt_step.py's "
                            "loops alternately with the bare step's.")


class Peer:
  """bench/peers/torch_gpt_step.py --serve in a child process: `ms_per_step(n)` times n of its steps."""

  def __init__(self, python: str):
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers", "torch_gpt_step.py")
    self.process = subprocess.Popen([python, script, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    text=True)
    self.info = self._read()
    if not self.info.get("ready"):
      raise RuntimeError(f"{script} did not start under {python}: {self.info}")

  def _read(self) -> dict:
    line = self.process.stdout.readline()
    if not line:
      raise RuntimeError(f"the PyTorch peer exited (code {self.process.wait()}); is torch installed there?")
    return json.loads(line)

  def ms_per_step(self, steps: int) -> float:
    self.process.stdin.write(f"{steps}\n")
    self.process.stdin.flush()
    return self._read()["ms_per_step"]

  def close(self):
    self.process.stdin.close()
    self.process.wait()


def main(argv):
  del argv
  runtime.keep_freed_memory()  # as the jaxdl command does
  logging.set_verbosity(logging.WARNING)
  steps = _STEPS.value
  config = timed_config("experiments/shakespeare_gpt.flags", steps, data=f"text:{_TEXT.value}")
  bare_loop = bare_step_loop(config)
  peer = Peer(_PEER.value) if _PEER.value else None
  timers = {"bare": lambda: bare_loop(steps) * 1e3}
  if peer:
    timers["torch"] = lambda: peer.ms_per_step(steps)
  times = alternating_rounds(timers, _ROUNDS.value)
  if peer:
    peer.close()
  full = full_seconds_per_step(config)
  scanned = bare_seconds_per_step(dataclasses.replace(config, model_args=config.model_args + ",scan=true"))
  bare, median = times["bare"], round(statistics.median(times["bare"]), 2)
  report = {
      "benchmark": "gpt_step", "device": f"{jax.device_count()} x {jax.devices()[0].device_kind}",
      "batch_size": config.batch_size, "context": 64, "steps": steps,
      "bare_ms_per_step": median, "bare_ms_rounds": bare, "full_ms_per_step": round(full * 1e3, 1),
      "loop_ratio": round(full * 1e3 / median, 4), "scanned_layers_ms_per_step": round(scanned * 1e3, 1)}
  if peer:
    ratios = [round(b / t, 3) for b, t in zip(bare, times["torch"])]
    report.update({"torch": peer.info["torch"], "torch_threads": peer.info["threads"],
                   "torch_ms_per_step": round(statistics.median(times["torch"]), 2), "torch_ms_rounds": times["torch"],
                   "bare_over_torch_rounds": ratios, "bare_over_torch": round(statistics.median(ratios), 4)})
  print(json.dumps(report), flush=True)


if __name__ == "__main__":
  app.run(main)
