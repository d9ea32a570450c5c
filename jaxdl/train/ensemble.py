"""Ensembles: average the predicted probabilities of several checkpoints, of one run (a snapshot ensemble)
or of several runs of the same model."""

import json
import os

import jax
import jax.numpy as jnp

from jaxdl.config import Config
from jaxdl.data import pipeline
from jaxdl.errors import UsageError
from jaxdl.train import state as state_lib
from jaxdl.train.checkpoint import Checkpoints, step_dirs
from jaxdl.train.loop import evaluate, restore_target
from jaxdl.train.setup import build
from jaxdl.train.step import make_eval_step, masked_sums


def members_of(spec: str, workdir: str) -> list[tuple[str, int | None]]:
  """`--ensemble=DIR[:STEP],...` -> [(dir, step or None = latest)]; empty: every checkpoint kept in `workdir`."""
  if spec:
    out = []
    for item in spec.split(","):
      path, _, step = item.partition(":")
      out.append((path, int(step) if step else None))
    return out
  steps = sorted(step_dirs(os.path.join(workdir, "checkpoints")))
  if len(steps) < 2:
    raise UsageError(f"--mode=ensemble: {workdir} keeps {len(steps)} checkpoint(s); a snapshot ensemble needs at "
                     "least 2 (train with --schedule=cyclic_cosine, --checkpoint_every=steps/cycles and "
                     "--keep_checkpoints=cycles) or list runs with --ensemble=DIR,DIR")
  return [(workdir, step) for step in steps]


def evaluate_ensemble(config: Config, workdir: str, spec: str = "") -> dict:
  """Each member's metrics and the ensemble's (mean probabilities) on every eval split; writes ensemble.json."""
  setup = build(config)
  abstract = restore_target(setup, config)
  members, report = [], {"members": []}
  eval_step = setup.parallel.compile_eval_step(make_eval_step(setup.task, setup.parallel.axis_name))
  for path, step in members_of(spec, workdir):
    ckpt = Checkpoints(os.path.join(path, "checkpoints"), 1, "unused", "max", create=False)
    try:
      step = ckpt.latest_step() if step is None else step
      if step is None or step not in ckpt.all_steps():
        raise UsageError(f"--ensemble: no checkpoint {step if step is not None else ''} in {ckpt.directory}")
      restored = setup.parallel.put_state(ckpt.restore(step, abstract)[0])
    finally:
      ckpt.close()
    members.append((state_lib.eval_params(restored), restored.model_state))
    report["members"].append({"workdir": path, "step": step,
                              **evaluate(setup, eval_step, restored, config.batch_size)})
  ensemble_step = jax.jit(lambda members, batch: masked_sums(setup.task.ensemble_fn(members, batch), batch))
  for split in setup.dataset.eval_splits:
    totals = None
    for batch in pipeline.eval_batches(setup.dataset.splits[split], config.batch_size):
      sums = ensemble_step(jax.device_get(members), batch)
      totals = sums if totals is None else jax.tree.map(jnp.add, totals, sums)
    report.update({f"ensemble_{split}_{k}": float(v / totals["count"]) for k, v in totals.items() if k != "count"})
  with open(os.path.join(workdir, "ensemble.json"), "w") as f:
    json.dump(report, f, indent=2)
  return report

