"""The training loop end to end: outputs, determinism, divergence guard, flag checks on resume."""

import dataclasses
import json
import math
import os

import numpy as np
import pytest

from jaxdl.config import Config
from jaxdl.errors import UsageError
from jaxdl.train import loop
from jaxdl.train.step import make_train_step
from jaxdl.train.writer import read_rows
from tests.conftest import run_jaxdl

# A small, fast run: an MLP on the native 8x8 digits.
FAST = Config(data="digits", data_args="image_size=8", model="mlp", model_args="depth=1,width=64", optim="adam",
              lr=3e-3, batch_size=64, steps=40, log_every=10, eval_every=20, checkpoint_every=20)

SUMMARY_KEYS = {"final", "steps", "wall_s", "train_s", "steps_per_s", "params_count", "params_fingerprint", "device",
                "cpu", "xla_flags", "conv_impl", "versions", "git_revision"}


# Tests that share the FAST runs go to one xdist worker (make test runs --dist loadgroup), which trains them once.
shares_fast_runs = pytest.mark.xdist_group("fast_runs")


@pytest.fixture(scope="session")  # session: xdist may run other modules between the grouped tests
def fast_runs(tmp_path_factory):
  """FAST trained with seeds 0, 0 (again, in another workdir), 1 and 2: {name: (workdir, result)}."""
  root = tmp_path_factory.mktemp("fast")
  runs = {}
  for name, seed in (("seed0", 0), ("seed0_again", 0), ("seed1", 1), ("seed2", 2)):
    runs[name] = (str(root / name), loop.train_and_evaluate(dataclasses.replace(FAST, seed=seed), str(root / name)))
  return runs


@shares_fast_runs
def test_run_writes_everything_design_lists(fast_runs):
  workdir, result = fast_runs["seed0"]
  for name in ("flags.txt", "metrics.jsonl", "summary.json", "plots/loss.png", "plots/accuracy.png"):
    assert os.path.getsize(os.path.join(workdir, name)) > 0, name
  assert any(f.startswith("events.out.tfevents") for f in os.listdir(os.path.join(workdir, "tensorboard")))
  assert sorted(int(s) for s in os.listdir(os.path.join(workdir, "checkpoints")) if s.isdigit()) == [20, 40]
  summary = json.load(open(os.path.join(workdir, "summary.json")))
  assert SUMMARY_KEYS <= set(summary)
  assert summary == json.loads(json.dumps(result))
  assert summary["params_count"] == 64 * 64 + 64 + 64 * 10 + 10
  assert summary["final"]["test_accuracy"] > 0.8 and len(summary["params_fingerprint"]) == 64
  assert set(summary["versions"]) == {"jaxdl", "jax", "jaxlib", "flax", "optax", "orbax-checkpoint", "grain", "numpy"}
  assert summary["versions"]["numpy"] == np.__version__ and summary["cpu"]
  assert "--xla_force_host_platform_device_count=1" in summary["xla_flags"]  # set by tests/conftest.py
  assert summary["conv_impl"] == "matmul"  # --conv_impl=auto on a CPU
  rows = read_rows(os.path.join(workdir, "metrics.jsonl"))
  assert [(r["step"], r["split"]) for r in rows] == [
      (0, "init"), (10, "train"), (20, "train"), (20, "eval"), (30, "train"), (40, "train"), (40, "eval")]
  # The notes' first babysitting check: the loss at step 0 is logged against log(C).
  assert rows[0]["expected_loss"] == pytest.approx(math.log(10))
  assert abs(rows[0]["loss"] - math.log(10)) < 0.5
  assert rows[-1]["test_accuracy"] == summary["final"]["test_accuracy"]
  assert open(os.path.join(workdir, "flags.txt")).read().startswith("--data=digits\n")


@shares_fast_runs
def test_same_flags_and_seed_give_the_same_bits(fast_runs):
  (dir_a, a), (dir_b, b), (_, c) = fast_runs["seed0"], fast_runs["seed0_again"], fast_runs["seed1"]
  assert a["params_fingerprint"] == b["params_fingerprint"] != c["params_fingerprint"]
  assert read_rows(os.path.join(dir_a, "metrics.jsonl")) == read_rows(os.path.join(dir_b, "metrics.jsonl"))


@shares_fast_runs
def test_more_steps_on_a_finished_run_continue_it_exactly(fast_runs, tmp_path):
  straight_dir, straight = fast_runs["seed0"]
  loop.train_and_evaluate(dataclasses.replace(FAST, steps=20), str(tmp_path / "split"))
  resumed = loop.train_and_evaluate(FAST, str(tmp_path / "split"))
  assert resumed["steps_run"] == 20
  assert resumed["params_fingerprint"] == straight["params_fingerprint"]
  train_rows = lambda d: [r for r in read_rows(os.path.join(d, "metrics.jsonl")) if r["split"] != "eval"]  # noqa
  assert train_rows(str(tmp_path / "split")) == train_rows(straight_dir)


def test_a_workdir_refuses_other_flags_and_lists_them(workdir):
  loop.train_and_evaluate(dataclasses.replace(FAST, steps=10, eval_every=0), workdir)
  with pytest.raises(UsageError, match=r"--lr: workdir has 0.003, command has 0.1; --seed: workdir has 0, command"):
    loop.train_and_evaluate(dataclasses.replace(FAST, steps=10, lr=0.1, seed=2), workdir)


def test_nan_loss_stops_at_its_step_and_keeps_the_last_good_checkpoint(workdir):
  config = dataclasses.replace(FAST, optim="sgd", lr=1e10, model_args="depth=3,width=64", steps=30, checkpoint_every=1,
                               log_every=1, eval_every=0)
  with pytest.raises(loop.Diverged, match=r"loss became NaN/Inf at step (\d+)") as info:
    loop.train_and_evaluate(config, workdir)
  bad = int(info.value.args[0].split("step ")[1].split(";")[0])
  saved = sorted(int(s) for s in os.listdir(os.path.join(workdir, "checkpoints")) if s.isdigit())
  assert saved and max(saved) == bad - 1
  assert f"last good checkpoint is step {bad - 1}" in info.value.args[0]
  rows = read_rows(os.path.join(workdir, "metrics.jsonl"))
  assert all(np.isfinite(r["loss"]) for r in rows)  # no NaN row was written
  assert loop.evaluate_checkpoint(config, workdir)["step"] == bad - 1  # the kept checkpoint restores intact


def test_default_experiment_runs_as_make_run_runs_it(tmp_path):
  """`make run`'s flag file on one CPU device with JAX's default PRNG, shortened to 150 of its 600 steps
  (its full accuracy, >= 0.98, is checked by `make test-all` in tests/test_experiments.py)."""
  proc = run_jaxdl("--flagfile=experiments/digits_lenet5.flags", f"--workdir={tmp_path}", "--steps=150",
                   env={"XLA_FLAGS": "", "JAX_THREEFRY_PARTITIONABLE": "1"})
  assert proc.returncode == 0, proc.stderr
  summary = json.load(open(tmp_path / "summary.json"))
  assert summary["final"]["val_accuracy"] >= 0.9 and summary["final"]["test_accuracy"] >= 0.9
  assert summary["params_count"] == 61_706 and summary["device"].startswith("1 x cpu")
  assert "step/s" in proc.stderr and "loss=" in proc.stderr  # the progress bar
  assert f"results in {tmp_path}" in proc.stdout and "final: test_accuracy=" in proc.stdout


@pytest.mark.parallel
def test_pmap_path_trains_like_the_jit_path(tmp_path):
  """With BatchNorm, whose statistics pmap averages over its axis and jit sees whole, on 8 devices."""
  config = dataclasses.replace(FAST, model="resnet18", model_args="stem=small,width=4,stage_sizes=(1,)", steps=6,
                               log_every=3, eval_every=0, checkpoint_every=6)
  jit = loop.train_and_evaluate(config, str(tmp_path / "jit"))
  pmap = loop.train_and_evaluate(dataclasses.replace(config, parallel_mode="pmap"), str(tmp_path / "pmap"))
  assert pmap["final"]["test_accuracy"] == pytest.approx(jit["final"]["test_accuracy"], abs=1e-6)
  assert pmap["final"]["test_loss"] == pytest.approx(jit["final"]["test_loss"], rel=1e-4)


def test_bfloat16_compute_keeps_float32_params(workdir):
  result = loop.train_and_evaluate(dataclasses.replace(FAST, dtype="bfloat16"), workdir)
  assert result["final"]["test_accuracy"] > 0.8


def test_initial_loss_far_from_log_c_warns(caplog):
  """A model whose initial scores are huge starts far above log(C): the babysitting check says so."""
  import flax.linen as nn
  from jaxdl.tasks.classify import Classify
  from jaxdl.train import setup as setup_lib

  class Loud(nn.Module):
    @nn.compact
    def __call__(self, x, train=False):
      return nn.Dense(10, kernel_init=nn.initializers.normal(100.0))(x.reshape(len(x), -1))

  config = dataclasses.replace(FAST, steps=2)
  setup = dataclasses.replace(setup_lib.build(config), task=Classify(model=Loud(), num_classes=10))
  state, sample = loop.init_state(setup, config)
  train_step = setup.parallel.compile_train_step(make_train_step(setup.task, setup.tx, setup.parallel.axis_name))
  _, metrics = train_step(state, setup.parallel.put_batch(sample))  # the loss at the initial parameters
  with caplog.at_level("WARNING", logger="absl"):
    row = loop.check_initial_loss(setup, metrics)
  assert row["loss"] > 10 * row["expected_loss"]
  assert "far from the expected" in caplog.text


def test_augmented_training_with_soft_labels_and_test_time_flip(tmp_path):
  config = dataclasses.replace(FAST, augment="crop=1,jitter,mixup=0.2", steps=60, eval_every=0, lr=0.01)
  a = loop.train_and_evaluate(config, str(tmp_path / "a"))
  b = loop.train_and_evaluate(config, str(tmp_path / "b"))
  assert a["final"]["test_accuracy"] > 0.8
  assert a["params_fingerprint"] == b["params_fingerprint"]  # augmentation is keyed by the step: reproducible
  # Test-time flip averages each image with its mirror: different metrics from the same checkpoint.
  flipped = loop.evaluate_checkpoint(dataclasses.replace(config, task_args="tta_flip=true"), str(tmp_path / "a"))
  assert flipped["test_loss"] != pytest.approx(a["final"]["test_loss"])


def test_hinge_loss_refuses_mixed_labels(workdir):
  with pytest.raises(UsageError, match="need --task_args=loss=cross_entropy"):
    loop.train_and_evaluate(dataclasses.replace(FAST, augment="mixup", task_args="loss=hinge"), workdir)


def test_early_stopping_restores_the_best_checkpoint_and_stays_stopped(workdir):
  config = dataclasses.replace(FAST, steps=400, eval_every=10, checkpoint_every=1000, log_every=10, lr=0.03,
                               early_stop_patience=2)
  result = loop.train_and_evaluate(config, workdir)
  assert result["stopped_early"] and result["steps_run"] < 400
  evals = [r for r in read_rows(os.path.join(workdir, "metrics.jsonl")) if r["split"] == "eval"]
  best = max(evals, key=lambda r: r["val_accuracy"])  # first of the ties, as the stopper counts
  assert [r["val_accuracy"] > best["val_accuracy"] for r in evals[-2:]] == [False, False]
  assert result["best_checkpoint_step"] == best["step"]
  assert result["final"]["val_accuracy"] == pytest.approx(best["val_accuracy"])  # the best state, restored
  again = loop.train_and_evaluate(config, workdir)
  assert again["stopped_early"] and again["params_fingerprint"] == result["params_fingerprint"]


def test_early_stopping_state_is_rebuilt_from_the_rows():
  from jaxdl.train.early_stopping import EarlyStopping
  rows = [{"step": s, "split": "eval", "val_loss": v} for s, v in ((10, 1.0), (20, 0.8), (30, 0.9), (40, 0.85))]
  stopper = EarlyStopping.from_rows(rows, "val_loss", "min", patience=2)
  assert stopper.best == 0.8 and stopper.since_best == 2 and stopper.should_stop
  assert not EarlyStopping.from_rows(rows, "val_loss", "min", patience=0).should_stop


def test_snapshot_ensemble_of_a_cyclic_cosine_run(workdir):
  """Huang et al. 2017: one snapshot per cosine cycle; the averaged probabilities are evaluated."""
  from jaxdl.modes import ensemble
  config = dataclasses.replace(FAST, schedule="cyclic_cosine", schedule_args="cycles=3", steps=60,
                               checkpoint_every=20, keep_checkpoints=3, eval_every=0, lr=0.01)
  loop.train_and_evaluate(config, workdir)
  report = ensemble.evaluate_ensemble(config, workdir)
  assert [m["step"] for m in report["members"]] == [20, 40, 60]
  accuracies = [m["test_accuracy"] for m in report["members"]]
  assert report["ensemble_test_accuracy"] >= min(accuracies) and report["ensemble_test_accuracy"] > 0.8
  assert os.path.exists(os.path.join(workdir, "ensemble.json"))


@shares_fast_runs
def test_ensemble_of_runs_with_different_seeds_beats_their_mean_loss(fast_runs, tmp_path):
  from jaxdl.modes import ensemble
  runs = [fast_runs[name][0] for name in ("seed0", "seed1", "seed2")]
  report = ensemble.evaluate_ensemble(FAST, str(tmp_path), ",".join(runs))
  losses = [m["test_loss"] for m in report["members"]]
  assert report["ensemble_test_loss"] < np.mean(losses)  # averaging probabilities cannot be worse than average
