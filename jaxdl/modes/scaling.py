"""`--mode=scaling`: a family of models of growing size trained with the same recipe, and the notes' power law
L(N) = (N_c / N)^alpha (Kaplan et al. 2020) fitted to their validation losses.

Each member is an ordinary run in `WORKDIR/members/width{W}_depth{D}` (so it resumes, and can be sampled or
evaluated alone); `--scaling=W:D,...` lists the widths and depths, which replace the model's `width` and
`num_layers`. N counts the parameters outside the embeddings, as Kaplan et al. do. The fit uses validation
losses only; test losses are reported beside them.
"""

import dataclasses
import json
import os

import numpy as np

from jaxdl.config import Config
from jaxdl.errors import UsageError
from jaxdl.train import loop, plots

EMBEDDINGS = ("token_embedding", "position_embedding")  # the GPT family's lookup tables


def parse_sizes(spec: str) -> list[tuple[int, int]]:
  """`W:D,...` -> [(width, depth), ...]."""
  sizes = []
  for item in filter(None, (s.strip() for s in spec.split(","))):
    width, sep, depth = item.partition(":")
    if not sep or not width.isdigit() or not depth.isdigit() or int(width) < 1 or int(depth) < 1:
      raise UsageError(f"--scaling: expected WIDTH:DEPTH,... with positive integers, got {item!r}")
    sizes.append((int(width), int(depth)))
  if len(sizes) < 2:
    raise UsageError("--scaling needs at least two WIDTH:DEPTH sizes to fit a power law, e.g. 32:1,64:2,128:4")
  return sizes


def fit_power_law(n: np.ndarray, loss: np.ndarray) -> dict[str, float]:
  """Least squares in log-log space: log L = alpha log N_c - alpha log N."""
  slope, intercept = np.polyfit(np.log(n), np.log(loss), 1)
  alpha = -slope
  return {"alpha": float(alpha), "n_c": float(np.exp(intercept / alpha)) if alpha else float("inf")}


def run(config: Config, workdir: str) -> dict:
  """Trains every member (resuming those already there), fits the power law, writes the members and the fit to
  WORKDIR/summary.json and the plot to plots/scaling.png; returns the summary."""
  members = []
  for width, depth in parse_sizes(config.scaling):
    member = dataclasses.replace(config, mode="train", scaling="",
                                 model_args=f"{config.model_args},width={width},num_layers={depth}".lstrip(","))
    member_dir = os.path.join(workdir, "members", f"width{width}_depth{depth}")
    result = loop.train_and_evaluate(member, member_dir)
    members.append({"width": width, "depth": depth, "workdir": member_dir, "params": result["params_count"],
                    "non_embedding_params": sum(n for name, n in result["params_by_module"].items()
                                                if name not in EMBEDDINGS),
                    "val_loss": result["final"]["val_loss"], "test_loss": result["final"].get("test_loss")})
  n = np.array([m["non_embedding_params"] for m in members], float)
  fit = fit_power_law(n, np.array([m["val_loss"] for m in members]))
  summary = {"scaling": {"members": members, "fit": fit, "loss": "val_loss", "n": "non_embedding_params"}}
  with open(os.path.join(workdir, "summary.json"), "w") as f:
    json.dump(summary, f, indent=1)
  plots.power_law(os.path.join(workdir, "plots", "scaling.png"), n, [m["val_loss"] for m in members],
                  [f"{m['width']}x{m['depth']}" for m in members], fit)
  return summary


def scaling(config: Config, workdir: str) -> str:
  report = run(config, workdir)["scaling"]
  lines = [f"{m['width']}x{m['depth']}: N={m['non_embedding_params']:,} val_loss={m['val_loss']:.4f}"
           for m in report["members"]]
  fit = report["fit"]
  return "\n".join(lines + [f"L(N) = (N_c / N)^alpha: alpha={fit['alpha']:.4f} N_c={fit['n_c']:.4g}",
                            f"results in {os.path.abspath(workdir)}: summary.json, plots/scaling.png, members/"])
