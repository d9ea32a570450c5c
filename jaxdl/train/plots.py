"""Loss and accuracy curves from metrics.jsonl, train and eval splits on one figure each."""

import os

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402

from jaxdl.train.writer import read_rows  # noqa: E402


def plot_metrics(workdir: str, metrics: tuple[str, ...] = ("loss", "accuracy")) -> list[str]:
  """Writes plots/<metric>.png for each metric that some split logged; returns their paths."""
  rows = read_rows(os.path.join(workdir, "metrics.jsonl"))
  os.makedirs(os.path.join(workdir, "plots"), exist_ok=True)
  paths = []
  for metric in metrics:
    splits = sorted({r["split"] for r in rows if metric in r and r["split"] != "init"})
    if not splits:
      continue
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for split in splits:
      points = [(r["step"], r[metric]) for r in rows if r["split"] == split and metric in r]
      ax.plot(*zip(*points), marker="o" if split != "train" else None, markersize=3, label=split)
    ax.set(xlabel="step", ylabel=metric, title=f"{metric} ({os.path.basename(os.path.abspath(workdir))})")
    if metric == "loss":
      ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = os.path.join(workdir, "plots", f"{metric}.png")
    fig.savefig(path)
    plt.close(fig)
    paths.append(path)
  return paths
