"""A run killed with SIGKILL at any point and restarted with the same command ends bit-identical."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from jaxdl.config import Config, differences, from_flagfile, to_flagfile
from jaxdl.train import loop
from jaxdl.train.writer import read_rows
from tests.conftest import REPO

CONFIG = Config(data="digits", data_args="image_size=8", model="mlp", model_args="depth=2,width=64,dropout=0.1",
                optim="adam", lr=1e-3, schedule="cosine", batch_size=32, steps=80, log_every=5, eval_every=40,
                checkpoint_every=20, keep_checkpoints=2)
pytestmark = pytest.mark.xdist_group("resume")  # one worker trains the uninterrupted run once


@pytest.fixture(scope="session")  # session: xdist may run other modules between the grouped tests
def uninterrupted(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("straight"))
  result = loop.train_and_evaluate(CONFIG, workdir)
  return result["params_fingerprint"], read_rows(os.path.join(workdir, "metrics.jsonl"))


def kill_when_logged(workdir: str, flagfile: str, step: int, sig=signal.SIGKILL) -> subprocess.Popen:
  """Starts the run and sends `sig` as soon as metrics.jsonl shows `step`; returns the ended process."""
  proc = subprocess.Popen([sys.executable, "-m", "jaxdl", f"--flagfile={flagfile}", f"--workdir={workdir}"],
                          cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  seen, deadline = -1, time.time() + 240
  while proc.poll() is None and time.time() < deadline:
    rows = read_rows(os.path.join(workdir, "metrics.jsonl"))
    seen = rows[-1]["step"] if rows else -1
    if seen >= step:
      proc.send_signal(sig)
      break
    time.sleep(0.002)
  proc.wait()
  assert seen < CONFIG.steps, "the run ended before it could be killed"
  return proc


@pytest.mark.parametrize("kill_at", [5, 35, 65], ids=["before-first-checkpoint", "middle", "near-the-end"])
def test_sigkill_then_same_command_gives_identical_params_and_metrics(tmp_path, uninterrupted, kill_at):
  workdir = str(tmp_path / "run")
  flagfile = str(tmp_path / "experiment.flags")
  with open(flagfile, "w") as f:
    f.write(to_flagfile(CONFIG))
  proc = kill_when_logged(workdir, flagfile, kill_at)
  assert proc.returncode == -signal.SIGKILL and not os.path.exists(os.path.join(workdir, "summary.json"))
  loop.train_and_evaluate(CONFIG, workdir)  # what the same command runs (restarting the CLI: the SIGTERM case)
  fingerprint, rows = uninterrupted
  assert json.load(open(os.path.join(workdir, "summary.json")))["params_fingerprint"] == fingerprint
  assert read_rows(os.path.join(workdir, "metrics.jsonl")) == rows


def test_sigterm_checkpoints_exits_143_and_resumes_exactly(tmp_path, uninterrupted):
  workdir = str(tmp_path / "run")
  flagfile = str(tmp_path / "experiment.flags")
  with open(flagfile, "w") as f:
    f.write(to_flagfile(CONFIG))
  proc = kill_when_logged(workdir, flagfile, 50, sig=signal.SIGTERM)
  assert proc.returncode == 143
  saved = [int(s) for s in os.listdir(os.path.join(workdir, "checkpoints")) if s.isdigit()]
  assert max(saved) >= 50  # a checkpoint at or after the step the signal came
  loop.train_and_evaluate(CONFIG, workdir)  # what the same command runs (the CLI restart: test_damaged_checkpoint)
  assert json.load(open(os.path.join(workdir, "summary.json")))["params_fingerprint"] == uninterrupted[0]
  assert read_rows(os.path.join(workdir, "metrics.jsonl")) == uninterrupted[1]


def test_a_flag_newer_than_the_workdir_counts_as_its_default():
  """A workdir written before `--conv_impl` existed resumes under the default; another choice is a difference
  (its rounding differs, so the resumed run would not be bit-identical)."""
  saved = from_flagfile(to_flagfile(CONFIG))
  del saved["conv_impl"]
  assert differences(saved, CONFIG) == []
  assert differences(saved, dataclasses.replace(CONFIG, conv_impl="lax")) == [
      "--conv_impl: workdir has auto, command has lax"]
