"""Ensembles: average the predicted probabilities of several checkpoints, of one run (a snapshot ensemble)
or of several runs of the same model."""

import json
import os

import jax

from jaxdl.config import Config
from jaxdl.errors import UsageError
from jaxdl.train import state as state_lib
from jaxdl.train import checkpoint, workdir as workdir_lib
from jaxdl.train.loop import evaluate, restore_target, split_means
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
  steps = sorted(checkpoint.step_dirs(os.path.join(workdir, "checkpoints")))
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
    workdir_lib.check_reads(path, config)
    restored, step = checkpoint.read(path, abstract, f"val_{setup.task.monitor}", setup.task.monitor_mode, step)
    restored = setup.parallel.put_state(restored)
    members.append((state_lib.eval_params(restored), restored.model_state))
    report["members"].append({"workdir": path, "step": step,
                              **evaluate(setup, eval_step, restored, config.batch_size)})
  ensemble_step = jax.jit(lambda members, batch: masked_sums(setup.task.ensemble_fn(members, batch), batch))
  members = jax.device_get(members)
  for split in setup.dataset.eval_splits:
    means = split_means(setup.dataset.splits[split], config.batch_size, lambda batch: ensemble_step(members, batch))
    report.update({f"ensemble_{split}_{k}": v for k, v in means.items()})
  with open(os.path.join(workdir, "ensemble.json"), "w") as f:
    json.dump(report, f, indent=2)
  return report


def ensemble_eval(config: Config, workdir: str) -> str:
  report = evaluate_ensemble(config, workdir, config.ensemble)
  lines = [f"member {m['workdir']}@{m['step']}: " + " ".join(f"{k}={v:.4f}" for k, v in m.items()
                                                             if isinstance(v, float)) for m in report["members"]]
  return "\n".join(lines + ["ensemble: " + " ".join(f"{k}={v:.4f}" for k, v in report.items()
                                                    if k.startswith("ensemble_"))])
