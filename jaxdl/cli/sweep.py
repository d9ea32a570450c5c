"""`jaxdl-sweep`: grid and random search over jaxdl flags, each trial a `jaxdl` run of its own, run as local
processes in parallel or emitted as a SLURM job array, then one results table.

  jaxdl-sweep --flagfile=experiments/digits_mlp.flags --workdir=runs/sweep_mlp \\
      --sweep='lr=log:1e-4:1e-1;batch_size=64|128' --trials=8 --seeds=2 --parallel=2 -- --steps=300

A dimension is `name=a|b|c` (choices), `name=log:LOW:HIGH` (log-uniform) or `name=linear:LOW:HIGH` (uniform);
with `--trials=0` every dimension must be choices and the sweep is their grid. Random trials are drawn from
`--sweep_seed`, so the same command makes the same trials. Each (trial, seed) runs in WORKDIR/runs/; a rerun skips
the runs whose summary.json is written and reruns the others (a killed jaxdl run resumes from its checkpoint).
Configurations are ranked by their mean validation metric over the seeds; test metrics are only reported beside.
"""

import argparse
import concurrent.futures
import csv
import dataclasses
import itertools
import json
import math
import os
import shlex
import subprocess
import sys

import numpy as np

from jaxdl.config import Config
from jaxdl.errors import UsageError
from jaxdl.train import plots

FIELD_TYPES = {f.name: f.type for f in dataclasses.fields(Config)}
OWN_FLAGS = ("workdir", "seed")  # what the sweep sets for each run itself


@dataclasses.dataclass(frozen=True)
class Dimension:
  name: str
  kind: str  # "choice", "log" or "linear"
  choices: tuple[str, ...] = ()
  low: float = 0.0
  high: float = 0.0

  def draw(self, rng: np.random.Generator) -> str:
    if self.kind == "choice":
      return self.choices[int(rng.integers(len(self.choices)))]
    if self.kind == "log":
      value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
    else:
      value = rng.uniform(self.low, self.high)
    return str(int(round(value))) if FIELD_TYPES[self.name] is int else f"{value:.3g}"


def parse_space(spec: str) -> list[Dimension]:
  """`lr=log:1e-4:1e-1;batch_size=64|128` -> its dimensions, each a Config field, checked."""
  dims = []
  for item in filter(None, (part.strip() for part in spec.split(";"))):
    name, sep, values = item.partition("=")
    if not sep or not values:
      raise UsageError(f"--sweep: {item!r} is not NAME=VALUES")
    if name not in FIELD_TYPES or name in OWN_FLAGS + ("mode",):
      raise UsageError(f"--sweep: {name!r} is not a flag a trial can vary")
    kind, _, bounds = values.partition(":")
    if kind in ("log", "linear"):
      try:
        low, high = (float(b) for b in bounds.split(":"))
      except ValueError:
        raise UsageError(f"--sweep: {item!r}: write {name}={kind}:LOW:HIGH") from None
      if not low < high or (kind == "log" and low <= 0):
        raise UsageError(f"--sweep: {item!r}: needs LOW < HIGH{' and LOW > 0' if kind == 'log' else ''}")
      dims.append(Dimension(name, kind, low=low, high=high))
    else:
      dims.append(Dimension(name, "choice", tuple(values.split("|"))))
  if len({d.name for d in dims}) != len(dims):
    raise UsageError("--sweep names a flag twice")
  if not dims:
    raise UsageError("--sweep is empty; e.g. --sweep='lr=log:1e-4:1e-1;batch_size=64|128'")
  return dims


def make_trials(dims: list[Dimension], count: int, seed: int) -> list[dict[str, str]]:
  """The grid of the choices (count 0) or `count` random draws from `seed`: [{flag: value}]."""
  if count == 0:
    ranged = [d.name for d in dims if d.kind != "choice"]
    if ranged:
      raise UsageError(f"--trials=0 asks for a grid, but {', '.join(ranged)} are ranges; give --trials=N")
    return [dict(zip([d.name for d in dims], values)) for values in itertools.product(*(d.choices for d in dims))]
  rng = np.random.default_rng(seed)
  return [{d.name: d.draw(rng) for d in dims} for _ in range(count)]


def run_dir(workdir: str, trial: int, seed: int) -> str:
  return os.path.join(workdir, "runs", f"trial_{trial:03d}_seed_{seed}")


def finished(directory: str) -> dict | None:
  """The final metrics of a completed run (its summary.json), else None."""
  path = os.path.join(directory, "summary.json")
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f).get("final")


def command(flagfile: str, directory: str, params: dict[str, str], seed: int, extra: list[str]) -> list[str]:
  return [sys.executable, "-m", "jaxdl", f"--flagfile={flagfile}", *extra,
          *(f"--{k}={v}" for k, v in params.items()), f"--seed={seed}", f"--workdir={directory}"]


def run_local(jobs: list[tuple[str, list[str]]], parallel: int) -> list[str]:
  """Runs each (directory, command) as a process, `parallel` at a time, its output in directory/log.txt; the
  directories whose run failed."""

  def one(job):
    directory, cmd = job
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "log.txt"), "w") as log:
      code = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT).returncode
    print(f"jaxdl-sweep: {'done' if code == 0 else f'FAILED (exit {code})'} {directory}", file=sys.stderr)
    return directory if code else None

  with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
    return [d for d in pool.map(one, jobs) if d]


def write_slurm(workdir: str, jobs: list[tuple[str, list[str]]], parallel: int, options: list[str]) -> str:
  """WORKDIR/sweep.sbatch: a job array with one task per unfinished run (its command line in commands.txt)."""
  commands = os.path.join(workdir, "commands.txt")
  with open(commands, "w") as f:
    f.writelines(shlex.join(cmd) + "\n" for _, cmd in jobs)
  lines = ["#!/bin/bash", "#SBATCH --job-name=jaxdl-sweep", f"#SBATCH --array=0-{len(jobs) - 1}%{parallel}",
           f"#SBATCH --output={os.path.join(workdir, 'runs', 'slurm-%A_%a.out')}",
           *(f"#SBATCH {option}" for option in options), "set -euo pipefail",
           f'eval "$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" {shlex.quote(commands)})"']
  path = os.path.join(workdir, "sweep.sbatch")
  with open(path, "w") as f:
    f.write("\n".join(lines) + "\n")
  return path


def _metric(rows: list[dict], requested: str) -> tuple[str, bool]:
  """(the validation metric that ranks, whether higher is better): val_accuracy if the runs report it, else
  val_loss, unless --metric names one (a val_ metric: the test split never chooses)."""
  names = set().union(*(row["final"] for row in rows)) if rows else set()
  name = requested or ("val_accuracy" if "val_accuracy" in names else "val_loss")
  if not name.startswith("val_") or (rows and name not in names):
    raise UsageError(f"--metric={name}: rank by a validation metric the runs report ({', '.join(sorted(names))})")
  return name, not any(word in name for word in ("loss", "error", "distance", "bits"))


def rank(trials: list[dict[str, str]], rows: list[dict], requested_metric: str = "") -> tuple[str, list[dict]]:
  """Per configuration: its flags, the mean and std over seeds of each final metric, best first by the
  validation metric."""
  metric, higher = _metric(rows, requested_metric)
  configs = []
  for trial, params in enumerate(trials):
    done = [row["final"] for row in rows if row["trial"] == trial]
    if not done:
      continue
    keys = sorted(set().union(*done))
    stats = {k: _mean_std([d[k] for d in done if k in d]) for k in keys}
    configs.append({"trial": trial, "params": params, "seeds": len(done), "stats": stats})
  configs.sort(key=lambda c: (-c["stats"][metric][0] if higher else c["stats"][metric][0], c["trial"]))
  return metric, configs


def _mean_std(values: list[float]) -> tuple[float, float]:
  """The mean and the sample standard deviation (0 for one value)."""
  return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def write_tables(workdir: str, dims: list[Dimension], trials: list[dict], rows: list[dict], metric: str,
                 configs: list[dict]) -> list[str]:
  """results.csv (one row per run), results.md (per configuration, best first) and plots/sweep.png."""
  names = [d.name for d in dims]
  keys = sorted(set().union(*(row["final"] for row in rows)))
  keys = [k for k in keys if k.startswith("val_")] + [k for k in keys if not k.startswith("val_")]
  csv_path = os.path.join(workdir, "results.csv")
  with open(csv_path, "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["trial", "seed", *names, *keys])
    for row in sorted(rows, key=lambda r: (r["trial"], r["seed"])):
      writer.writerow([row["trial"], row["seed"], *(trials[row["trial"]][n] for n in names),
                       *(repr(row["final"][k]) if k in row["final"] else "" for k in keys)])
  md_path = os.path.join(workdir, "results.md")
  header = ["rank", "trial", *names, *keys, "seeds"]
  lines = [f"Ranked by mean {metric} over seeds (mean ± std); test metrics are reported, never chosen on.", "",
           "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
  for i, c in enumerate(configs, 1):
    cells = [f"{c['stats'][k][0]:.4f} ± {c['stats'][k][1]:.4f}" if k in c["stats"] else "" for k in keys]
    lines.append("| " + " | ".join([str(i), str(c["trial"]), *(c["params"][n] for n in names), *cells,
                                    str(c["seeds"])]) + " |")
  with open(md_path, "w") as f:
    f.write("\n".join(lines) + "\n")
  numeric = [d for d in dims if d.kind != "choice" or all(_is_number(v) for v in d.choices)]
  plot = plots.sweep(os.path.join(workdir, "plots", "sweep.png"),
                     {d.name: [float(trials[row["trial"]][d.name]) for row in rows] for d in numeric},
                     {d.name for d in numeric if d.kind == "log"}, [row["final"][metric] for row in rows], metric)
  return [csv_path, md_path, plot]


def _is_number(text: str) -> bool:
  try:
    float(text)
  except ValueError:
    return False
  return True


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
  """The sweep's own options, and the jaxdl flags after `--` that every run gets."""
  own, extra = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
  parser = argparse.ArgumentParser(prog="jaxdl-sweep", description=__doc__.split("\n\n")[0],
                                   epilog="jaxdl flags after -- are given to every run.")
  parser.add_argument("--flagfile", required=True, help="the experiment every trial starts from")
  parser.add_argument("--workdir", required=True, help="runs/, results.csv, results.md and plots/ go here")
  parser.add_argument("--sweep", required=True, help="NAME=a|b|c, NAME=log:LOW:HIGH or NAME=linear:LOW:HIGH; ...")
  parser.add_argument("--trials", type=int, default=0, help="random trials (0: the grid of the choices)")
  parser.add_argument("--seeds", type=int, default=1, help="seeds 0..K-1 per trial")
  parser.add_argument("--sweep_seed", type=int, default=0, help="draws the random trials")
  parser.add_argument("--parallel", type=int, default=1, help="runs at a time (local processes or array tasks)")
  parser.add_argument("--metric", default="", help="the val_ metric that ranks (default val_accuracy, else val_loss)")
  parser.add_argument("--slurm", action="store_true", help="write WORKDIR/sweep.sbatch (a job array) instead of "
                      "running; rerun this command when the array is done to collect the table")
  parser.add_argument("--slurm_option", action="append", default=[], help="an #SBATCH line, e.g. --gres=gpu:1")
  args = parser.parse_args(own)
  if args.trials < 0 or args.seeds < 1 or args.parallel < 1:
    raise UsageError("--trials must be >= 0, --seeds and --parallel >= 1")
  if not os.path.isfile(args.flagfile):
    raise UsageError(f"--flagfile={args.flagfile} is not a file")
  return args, extra


def main(argv: list[str] | None = None) -> int:
  args, extra = parse_args(sys.argv[1:] if argv is None else argv)
  dims = parse_space(args.sweep)
  trials = make_trials(dims, args.trials, args.sweep_seed)
  passed = {flag.lstrip("-").partition("=")[0] for flag in extra}
  if passed & set(OWN_FLAGS):
    raise UsageError("the sweep sets --workdir and --seed of each run itself; do not pass them after --")
  if passed & {d.name for d in dims}:
    raise UsageError(f"--{', --'.join(sorted(passed & {d.name for d in dims}))} is swept; do not also pass it "
                     "after --")
  os.makedirs(args.workdir, exist_ok=True)
  record = {"flagfile": os.path.abspath(args.flagfile), "sweep": args.sweep, "trials": trials, "seeds": args.seeds,
            "extra": extra}
  record_path = os.path.join(args.workdir, "sweep.json")
  if os.path.exists(record_path):
    with open(record_path) as f:
      if json.load(f) != record:
        raise UsageError(f"{args.workdir} holds another sweep (sweep.json differs); use a new --workdir")
  with open(record_path, "w") as f:
    json.dump(record, f, indent=2)
  runs = [(trial, seed) for trial in range(len(trials)) for seed in range(args.seeds)]
  directories = {(t, s): run_dir(args.workdir, t, s) for t, s in runs}
  jobs = [(directories[t, s], command(record["flagfile"], directories[t, s], trials[t], s, extra))
          for t, s in runs if finished(directories[t, s]) is None]
  print(f"jaxdl-sweep: {len(trials)} trials x {args.seeds} seeds; {len(runs) - len(jobs)} runs done, "
        f"{len(jobs)} to run", file=sys.stderr)
  failed = []
  if jobs and args.slurm:
    path = write_slurm(args.workdir, jobs, args.parallel, args.slurm_option)
    print(f"wrote {path}: submit it with `sbatch {path}`, then rerun this command to collect the table")
    return 0
  if jobs:
    failed = run_local(jobs, args.parallel)
  rows = [{"trial": t, "seed": s, "final": final} for t, s in runs
          if (final := finished(directories[t, s])) is not None]
  if not rows:
    raise UsageError(f"no run of the sweep finished; see the log.txt files under {args.workdir}/runs")
  metric, configs = rank(trials, rows, args.metric)
  paths = write_tables(args.workdir, dims, trials, rows, metric, configs)
  best = configs[0]
  print(f"best by mean {metric} over {best['seeds']} seed(s): trial {best['trial']} "
        + " ".join(f"--{k}={v}" for k, v in best["params"].items())
        + f" ({metric} {best['stats'][metric][0]:.4f} ± {best['stats'][metric][1]:.4f})")
  print("wrote " + ", ".join(paths))
  if failed:
    print(f"jaxdl-sweep: {len(failed)} run(s) failed, e.g. {failed[0]}/log.txt; rerun to retry them", file=sys.stderr)
  return 1 if failed else 0


def run() -> None:
  """Console-script entry point: a UsageError ends in one line and exit status 2."""
  try:
    sys.exit(main())
  except UsageError as e:
    print(f"jaxdl-sweep: error: {e}", file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
  run()
