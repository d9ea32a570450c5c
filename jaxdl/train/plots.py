"""Loss and accuracy curves from metrics.jsonl, train and eval splits on one figure each."""

import os

import matplotlib.ticker
import numpy as np
from matplotlib.figure import Figure

from jaxdl.train.writer import read_rows


def _subplots(rows: int = 1, columns: int = 1, squeeze: bool = True, **figure_kw):
  """`pyplot.subplots` without pyplot: figures for files only, none kept in a global list to free, and no pyplot
  import (0.4 s of every jaxdl process's start)."""
  fig = Figure(**figure_kw)
  return fig, fig.subplots(rows, columns, squeeze=squeeze)


def _save(fig, path: str, title: str) -> str:
  """Titles, lays out and writes a figure (creating its directory)."""
  fig.suptitle(title)
  fig.tight_layout()
  os.makedirs(os.path.dirname(path), exist_ok=True)
  fig.savefig(path)
  return path


def image_grid(path: str, images, title: str, columns: int = 8, captions=()) -> str:
  """Saves (N, H, W, C) images in [0, 1] as one PNG grid, each with its caption (if given) under it."""
  rows = -(-len(images) // columns)
  size = 2.4 if captions else 1.2  # room for a caption's words
  fig, axes = _subplots(rows, columns, figsize=(columns * size, rows * size + 0.4), dpi=100, squeeze=False)
  for ax in axes.ravel():
    ax.axis("off")
  for i, (ax, img) in enumerate(zip(axes.ravel(), images)):
    ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray" if img.shape[-1] == 1 else None, vmin=0, vmax=1)
    if captions:
      ax.text(0.5, -0.04, captions[i], transform=ax.transAxes, ha="center", va="top", fontsize=8, wrap=True)
  return _save(fig, path, title)


def sample_grids(directory: str, samples, caption: str, stem: str = "samples") -> list[str]:
  """Writes a sampler's `contract.Samples` as PNG grids in `directory`: its images to STEM.png and each of its
  `extra` grids to NAME.png (NAME_STEM.png when `stem` is not "samples"), titled with `caption`; their paths."""
  paths = [image_grid(os.path.join(directory, f"{stem}.png"), samples.images, f"samples of {caption}",
                      columns=samples.columns, captions=samples.captions)]
  for name, grid in samples.extra.items():
    paths.append(image_grid(os.path.join(directory, f"{name}.png" if stem == "samples" else f"{name}_{stem}.png"),
                            grid.images, f"{grid.text}, {caption}", columns=grid.columns, captions=grid.captions))
  return paths


def spectrum(path: str, values, title: str) -> str:
  """Saves eigenvalue estimates (ascending) as points against their rank, on a symmetric-log axis (they span
  decades and may be negative)."""
  fig, ax = _subplots(figsize=(6, 3.6), dpi=100)
  ax.plot(np.arange(1, len(values) + 1), values, "o")
  ax.set_yscale("symlog", linthresh=max(1e-6, float(np.abs(values).max()) * 1e-4))
  ax.set_xlabel("rank (ascending)")
  ax.set_ylabel("eigenvalue")
  ax.grid(alpha=0.3)
  return _save(fig, path, title)


def curves(path: str, x, series: dict, xlabel: str, ylabel: str, title: str) -> str:
  """Saves one line per named series of y values against the shared x values."""
  fig, ax = _subplots(figsize=(6, 3.6), dpi=100)
  for name, ys in series.items():
    ax.plot(x, ys, "o-", label=name)
  ax.set_xlabel(xlabel)
  ax.set_ylabel(ylabel)
  ax.grid(alpha=0.3)
  ax.legend()
  return _save(fig, path, title)


def sweep(path: str, values: dict[str, list[float]], log_scaled: set[str], metric_values, metric: str) -> str:
  """One panel per swept numeric flag: each run's `metric` against that flag's value (log axis where the flag
  was drawn log-uniformly); one panel against the run's index when no swept flag is numeric."""
  values = values or {"run": list(range(len(metric_values)))}
  fig, axes = _subplots(1, len(values), figsize=(4 * len(values), 3.4), dpi=100, squeeze=False)
  for ax, (name, xs) in zip(axes[0], values.items()):
    ax.plot(xs, metric_values, "o", alpha=0.7)
    if name in log_scaled:
      ax.set_xscale("log")
    ax.set_xlabel(name)
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
  return _save(fig, path, f"{metric} of each run")


def lr_range(path: str, rates, losses, smooth, suggested: float) -> str:
  """The LR range test: training loss (and its smoothed curve) against the learning rate, log axis, with the
  suggested rate marked."""
  fig, ax = _subplots(figsize=(6, 3.8), dpi=100)
  ax.plot(rates, losses, alpha=0.35, label="loss")
  ax.plot(rates, smooth, label="smoothed")
  ax.axvline(suggested, color="k", linestyle="--", label=f"suggested {suggested:.2g}")
  ax.set_xscale("log")
  low, high = float(np.min(losses)), min(float(np.max(losses)), 4 * float(np.min(smooth)))  # not the blow-up
  ax.set_ylim(low - 0.05 * (high - low), high + 0.05 * (high - low))
  ax.set_xlabel("learning rate")
  ax.set_ylabel("training loss")
  ax.grid(alpha=0.3)
  ax.legend()
  return _save(fig, path, "LR range test")


def heatmaps(path: str, maps, row_labels, column_labels, title: str) -> str:
  """Saves matrices (N, rows, columns) in [0, 1] side by side, each labelled along both axes, as one PNG."""
  fig, axes = _subplots(1, len(maps), figsize=(3.2 * len(maps), 3.6), dpi=100, squeeze=False)
  for ax, m, rows, columns in zip(axes[0], maps, row_labels, column_labels):
    ax.imshow(m[:len(rows), :len(columns)], cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(len(columns)), columns, fontsize=7)
    ax.set_yticks(range(len(rows)), rows, fontsize=7)
  return _save(fig, path, title)


def overlays(path: str, images, maps, title: str, captions=()) -> str:
  """Saves each image (N, H, W, C) in [0, 1] with its map (N, h, w) in [0, 1] stretched over it as heat."""
  fig, axes = _subplots(1, len(images), figsize=(2.4 * len(images), 2.8), dpi=100, squeeze=False)
  for i, (ax, img, m) in enumerate(zip(axes[0], images, maps)):
    ax.axis("off")
    ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray", vmin=0, vmax=1)
    ax.imshow(m, cmap="jet", alpha=0.5, vmin=0, vmax=1, extent=(-0.5, img.shape[1] - 0.5, img.shape[0] - 0.5, -0.5),
              interpolation="bilinear")
    if captions:
      ax.set_title(captions[i], fontsize=8)
  return _save(fig, path, title)


def power_law(path: str, n, loss, labels, fit: dict) -> str:
  """Losses against parameter counts on log-log axes, with the fitted (N_c / N)^alpha."""
  n = np.asarray(n, float)
  fig, ax = _subplots(figsize=(5, 3.6), dpi=100)
  ax.loglog(n, loss, "o", label="validation loss")
  grid = np.geomspace(n.min(), n.max(), 50)
  ax.loglog(grid, (fit["n_c"] / grid) ** fit["alpha"], "-", label=f"(N_c / N)^{fit['alpha']:.3f}")
  for x, y, label in zip(n, loss, labels):
    ax.annotate(label, (x, y), fontsize=7)
  ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())  # minor labels would overprint each other
  ax.yaxis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%.2f"))  # losses span less than a decade
  ax.set_xlabel("non-embedding parameters N")
  ax.set_ylabel("loss")
  ax.legend()
  return _save(fig, path, "L(N) = (N_c / N)^alpha")


def series(rows: list[dict], metric: str) -> dict[str, list[tuple[int, float]]]:
  """{"train": [(step, value)], "test": [...], ...}: train rows hold `metric`, eval rows `<split>_<metric>`."""
  out: dict[str, list[tuple[int, float]]] = {}
  for row in rows:
    if row["split"] == "train" and metric in row:
      out.setdefault("train", []).append((row["step"], row[metric]))
    elif row["split"] == "eval":
      for key, value in row.items():
        if key.endswith(f"_{metric}"):
          out.setdefault(key[:-len(metric) - 1], []).append((row["step"], value))
  return out


def plot_metrics(workdir: str, metrics: tuple[str, ...] = ("loss", "accuracy")) -> list[str]:
  """Writes plots/<metric>.png for each metric that was logged; returns their paths."""
  rows = read_rows(os.path.join(workdir, "metrics.jsonl"))
  os.makedirs(os.path.join(workdir, "plots"), exist_ok=True)
  paths = []
  for metric in metrics:
    curves = series(rows, metric)
    if not curves:
      continue
    fig, ax = _subplots(figsize=(6, 4), dpi=120)
    for label, points in curves.items():
      ax.plot(*zip(*points), marker=None if label == "train" else "o", markersize=3, label=label)
    ax.set(xlabel="step", ylabel=metric, title=f"{metric} ({os.path.basename(os.path.abspath(workdir))})")
    if metric == "loss":
      ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = os.path.join(workdir, "plots", f"{metric}.png")
    fig.savefig(path)
    paths.append(path)
  return paths
