"""jaxdl-sweep: the search space, the trials it makes, ranking on validation only, resumable local runs that
reproduce their table, and the SLURM job array it writes instead of running."""

import csv
import json
import os

import pytest

from jaxdl.cli import sweep
from jaxdl.errors import UsageError
from tests.conftest import REPO

FLAGFILE = os.path.join(REPO, "experiments", "digits_linear_svm.flags")


def test_the_space_parses_into_dimensions_and_bad_specs_are_one_line_errors():
  dims = sweep.parse_space("lr=log:1e-4:1e-1; batch_size=64|128 ;weight_decay=linear:0:0.1")
  assert [(d.name, d.kind) for d in dims] == [("lr", "log"), ("batch_size", "choice"), ("weight_decay", "linear")]
  assert dims[1].choices == ("64", "128") and (dims[0].low, dims[0].high) == (1e-4, 1e-1)
  for spec, message in [("nope=1|2", "not a flag a trial can vary"), ("seed=1|2", "not a flag a trial can vary"),
                        ("lr=log:0:1", "LOW > 0"), ("lr=linear:2:1", "LOW < HIGH"), ("lr=log:x", "LOW:HIGH"),
                        ("lr=1|2;lr=3", "twice"), ("", "empty")]:
    with pytest.raises(UsageError, match=message):
      sweep.parse_space(spec)


def test_grid_and_random_trials_are_what_the_seed_and_the_space_say():
  grid = sweep.make_trials(sweep.parse_space("lr=0.1|0.01;batch_size=64|128|256"), 0, seed=0)
  assert len(grid) == 6 and grid[0] == {"lr": "0.1", "batch_size": "64"} and grid[-1]["batch_size"] == "256"
  space = sweep.parse_space("lr=log:1e-4:1e-1;steps=linear:10:20;optim=sgd|adam")
  drawn = sweep.make_trials(space, 50, seed=3)
  assert drawn == sweep.make_trials(space, 50, seed=3) != sweep.make_trials(space, 50, seed=4)
  lrs = [float(t["lr"]) for t in drawn]
  assert min(lrs) >= 1e-4 and max(lrs) <= 1e-1 and sum(lr < 1e-3 for lr in lrs) > 10  # log-uniform: a third below
  assert all(t["steps"].isdigit() and 10 <= int(t["steps"]) <= 20 for t in drawn)  # an integer flag stays one
  assert {t["optim"] for t in drawn} == {"sgd", "adam"}
  with pytest.raises(UsageError, match="asks for a grid, but lr, steps are ranges"):
    sweep.make_trials(space, 0, seed=0)


def test_configurations_are_ranked_by_their_mean_validation_metric_never_by_test():
  trials = [{"lr": "0.1"}, {"lr": "0.01"}]
  rows = [{"trial": 0, "seed": s, "final": {"val_accuracy": 0.8 + 0.02 * s, "test_accuracy": 0.99}} for s in (0, 1)]
  rows += [{"trial": 1, "seed": s, "final": {"val_accuracy": 0.9, "test_accuracy": 0.5}} for s in (0, 1)]
  metric, configs = sweep.rank(trials, rows)
  assert metric == "val_accuracy" and [c["trial"] for c in configs] == [1, 0]
  assert configs[1]["stats"]["val_accuracy"] == pytest.approx((0.81, 0.02 / 2 ** 0.5))  # sample std
  loss_rows = [{"trial": t, "seed": 0, "final": {"val_loss": v}} for t, v in ((0, 0.3), (1, 0.7))]
  assert [c["trial"] for c in sweep.rank(trials, loss_rows)[1]] == [0, 1]  # a loss ranks lowest first
  with pytest.raises(UsageError, match="rank by a validation metric"):
    sweep.rank(trials, rows, "test_accuracy")


def test_a_local_sweep_runs_resumes_only_what_is_missing_and_reproduces_its_table(tmp_path, capsys):
  argv = [f"--flagfile={FLAGFILE}", f"--workdir={tmp_path}", "--sweep=lr=0.05|0.2", "--parallel=2", "--",
          "--steps=10", "--eval_every=10"]
  assert sweep.main(argv) == 0
  table = (tmp_path / "results.csv").read_text()
  rows = list(csv.DictReader(table.splitlines()))
  assert [(r["trial"], r["seed"], r["lr"]) for r in rows] == [("0", "0", "0.05"), ("1", "0", "0.2")]
  best = max(rows, key=lambda r: float(r["val_accuracy"]))
  assert f"trial {best['trial']} --lr={best['lr']}" in capsys.readouterr().out
  md = (tmp_path / "results.md").read_text()
  assert md.index(f"| 1 | {best['trial']} | {best['lr']} |") > 0 and "test_accuracy" in md
  assert (tmp_path / "plots" / "sweep.png").read_bytes()[:4] == b"\x89PNG"
  os.remove(tmp_path / "runs" / "trial_001_seed_0" / "summary.json")  # as if that run had been killed
  assert sweep.main(argv) == 0
  assert "1 runs done, 1 to run" in capsys.readouterr().err
  assert (tmp_path / "results.csv").read_text() == table  # the same flags and seed give the same bits
  with pytest.raises(UsageError, match="holds another sweep"):
    sweep.main([a.replace("0.05|0.2", "0.05|0.3") for a in argv])


def test_slurm_mode_writes_a_job_array_of_the_unfinished_runs_instead_of_running(tmp_path):
  argv = [f"--flagfile={FLAGFILE}", f"--workdir={tmp_path}", "--sweep=lr=log:1e-3:1e-1", "--trials=3",
          "--seeds=2", "--parallel=4", "--slurm", "--slurm_option=--gres=gpu:1"]
  assert sweep.main(argv) == 0
  script = (tmp_path / "sweep.sbatch").read_text()
  assert "#SBATCH --array=0-5%4" in script and "#SBATCH --gres=gpu:1" in script
  commands = (tmp_path / "commands.txt").read_text().splitlines()
  assert len(commands) == 6 and commands[3].endswith(f"--seed=1 --workdir={tmp_path}/runs/trial_001_seed_1")
  assert not (tmp_path / "runs").exists()  # nothing ran
  trials = json.loads((tmp_path / "sweep.json").read_text())["trials"]
  assert f"--lr={trials[1]['lr']}" in commands[3]
