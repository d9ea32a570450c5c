"""`--mode=lr_find`: the learning-rate range test (Smith, 2017). One short run of the experiment whose rate grows
exponentially from LR_START to LR_END, through the ordinary training loop (schedule "range_test"), its training
loss logged every step; the loss against the rate is drawn, and a rate suggested: a tenth of the one where the
smoothed loss was lowest (the steepest descent of the smoothed loss is reported beside it).
"""

import dataclasses
import json
import os
import shutil

import numpy as np

from jaxdl import optim
from jaxdl.config import Config
from jaxdl.train import loop, plots
from jaxdl.train.writer import read_rows

LR_START, LR_END = 1e-6, 10.0
SMOOTHING = 0.9  # the exponential moving average of the loss that picks the rate (debiased)


def smoothed(losses) -> np.ndarray:
  """The debiased exponential moving average of `losses` (Adam's bias correction: the first value is itself)."""
  average, out = 0.0, []
  for i, loss in enumerate(losses, 1):
    average = SMOOTHING * average + (1 - SMOOTHING) * loss
    out.append(average / (1 - SMOOTHING ** i))
  return np.array(out)


def suggest(rates, losses) -> dict:
  """A tenth of the rate at the smoothed loss's minimum, and the rate where it fell fastest per decade before it."""
  smooth = smoothed(losses)
  low = int(np.argmin(smooth))
  slopes = np.gradient(smooth[:low + 1], np.log10(rates[:low + 1])) if low >= 2 else np.zeros(1)
  return {"suggested_lr": float(rates[low] / 10), "min_loss_lr": float(rates[low]),
          "steepest_lr": float(rates[int(np.argmin(slopes))])}


def lr_find(config: Config, workdir: str) -> str:
  """Runs the range test for `--steps` steps in WORKDIR/lr_find (replaced if there) and writes lr_find.json and
  plots/lr_find.png; it stops where the loss becomes NaN, as the loop does."""
  run_dir = os.path.join(workdir, "lr_find")
  shutil.rmtree(run_dir, ignore_errors=True)
  growth = LR_END / LR_START
  test = dataclasses.replace(config, mode="train", lr=LR_START, lr_batch_size=0, schedule="range_test",
                             schedule_args=f"growth={growth:g}", warmup_steps=0, log_every=1,
                             eval_every=0, checkpoint_every=config.steps, early_stop_patience=0)
  try:
    loop.train_and_evaluate(test, run_dir)
  except loop.Diverged:
    pass  # the rows up to the last finite loss are what the test reads
  rows = [r for r in read_rows(os.path.join(run_dir, "metrics.jsonl")) if r["split"] == "train"]
  steps = np.array([r["step"] for r in rows])
  losses = np.array([r["loss"] for r in rows])
  keep = np.isfinite(losses)
  steps, losses = steps[keep], losses[keep]
  schedule = optim.schedule("range_test", LR_START, config.steps, growth=growth)
  rates = np.asarray(schedule(steps - 1), np.float64)  # the rate of each step's update (step 1 is count 0)
  report = {"steps": steps.tolist(), "lr": rates.tolist(), "loss": losses.tolist(), **suggest(rates, losses)}
  path = os.path.join(workdir, "lr_find.json")
  with open(path, "w") as f:
    json.dump(report, f, indent=2)
  plot = plots.lr_range(os.path.join(workdir, "plots", "lr_find.png"), rates, losses, smoothed(losses),
                        report["suggested_lr"])
  return (f"suggested --lr={report['suggested_lr']:.3g} (a tenth of {report['min_loss_lr']:.3g}, where the smoothed "
          f"loss was lowest; it fell fastest at {report['steepest_lr']:.3g})\nwrote {path}, {plot}")
