"""A workdir is one run's truth: one writer at a time, the record kept true by a shorter --steps, a failed start
reusable, and every mode that reads a run checks the command's model and data against it."""

import json
import os
import subprocess
import sys

import pytest

from jaxdl.config import Config, from_flagfile
from jaxdl.errors import UsageError
from jaxdl.train import loop, workdir as workdir_lib
from tests.conftest import REPO, run_jaxdl_batch

CONFIG = Config(data="digits", data_args="image_size=8", model="mlp", model_args="depth=1,width=16", batch_size=32,
                steps=8, log_every=4, checkpoint_every=4)
pytestmark = pytest.mark.xdist_group("workdir")  # one worker trains the run the read checks share


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> str:
  workdir = str(tmp_path_factory.mktemp("trained"))
  loop.train_and_evaluate(CONFIG, workdir)
  return workdir


def test_a_held_workdir_refuses_a_second_run_and_names_the_holder(tmp_path):
  lock = workdir_lib.Lock(str(tmp_path))
  lock.acquire()
  try:
    with pytest.raises(UsageError, match=rf"--workdir={tmp_path} is in use by another run \(host .*, pid "
                                         rf"{os.getpid()}, started .*\); wait for it"):
      workdir_lib.prepare(str(tmp_path), CONFIG)
    assert not os.path.exists(tmp_path / "flags.txt")
  finally:
    lock.release()
  assert workdir_lib.prepare(str(tmp_path), CONFIG) is not None  # released: the next run takes it


def test_the_lock_of_a_killed_holder_is_taken_over_with_a_notice(tmp_path, capsys):
  holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from jaxdl.train.workdir import Lock; "
                             f"Lock({str(tmp_path)!r}).acquire(); print('held', flush=True); time.sleep(60)"],
                            cwd=REPO, stdout=subprocess.PIPE, text=True)
  assert holder.stdout.readline().strip() == "held"
  with pytest.raises(UsageError, match=f"pid {holder.pid}"):
    workdir_lib.Lock(str(tmp_path)).acquire()
  holder.kill()  # SIGKILL: nothing of the holder's runs again
  holder.wait()
  lock = workdir_lib.Lock(str(tmp_path))
  lock.acquire()
  lock.release()
  assert f"ended without releasing it (host {os.uname().nodename}, pid {holder.pid}" in capsys.readouterr().err
  assert open(tmp_path / workdir_lib.LOCK).read() == ""  # a clean release leaves nothing to take over


def test_two_runs_started_together_on_one_workdir_one_trains(tmp_path):
  """Both processes build their run before they claim the workdir, so they reach the lock within a second of each
  other while the winner trains for several: one exits 0, the other 2 naming it, and the winner's run is whole."""
  command = [sys.executable, "-m", "jaxdl", "--data=digits", "--data_args=image_size=8", "--model=mlp",
             "--model_args=depth=1,width=16", "--batch_size=32", "--steps=4000", "--log_every=1000",
             "--checkpoint_every=1000", f"--workdir={tmp_path}"]
  procs = [subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
           for _ in range(2)]
  results = sorted((p.wait(timeout=300), p.stderr.read()) for p in procs)
  assert [code for code, _ in results] == [0, 2], results
  assert f"--workdir={tmp_path} is in use by another run" in results[1][1].strip().splitlines()[-1]
  assert json.load(open(tmp_path / "summary.json"))["steps_run"] == 4000


def test_a_shorter_steps_evaluates_and_keeps_the_record(trained, capsys):
  before = open(os.path.join(trained, "flags.txt")).read()
  result = loop.train_and_evaluate(Config(**{**CONFIG.__dict__, "steps": 4}), trained)
  assert f"{trained} is trained to step 8; --steps=4 trains nothing more: evaluating it" in capsys.readouterr().err
  assert result["steps_run"] == 0 and result["steps"] == 8
  assert open(os.path.join(trained, "flags.txt")).read() == before
  assert json.load(open(os.path.join(trained, "summary.json")))["steps"] == 8


def test_a_failed_start_leaves_a_workdir_the_corrected_command_reuses(tmp_path, capsys):
  """A run that stopped before its first checkpoint (out of memory, a NaN, a bad file) kept only its flags."""
  workdir_lib.prepare(str(tmp_path), Config(**{**CONFIG.__dict__, "batch_size": 4096})).release()
  lock = workdir_lib.prepare(str(tmp_path), CONFIG)
  lock.release()
  assert "holds no checkpoint of its earlier flags (--batch_size: workdir has 4096, command has 32); starting " \
         "over with these" in capsys.readouterr().err
  assert from_flagfile(open(tmp_path / "flags.txt").read())["batch_size"] == "32"


def test_a_run_with_checkpoints_still_refuses_other_flags(trained):
  with pytest.raises(UsageError, match="holds a run with other flags \\(--lr: workdir has 0.001, command has 0.01"):
    workdir_lib.prepare(trained, Config(**{**CONFIG.__dict__, "lr": 0.01}))
  workdir_lib.prepare(trained, CONFIG).release()  # and the lock was released with the refusal


def files(directory: str) -> dict[str, bytes]:
  return {os.path.join(root, name): open(os.path.join(root, name), "rb").read()
          for root, _, names in os.walk(directory) for name in names}


def test_modes_that_read_a_run_name_other_model_or_data_flags(trained):
  before = files(trained)
  results = run_jaxdl_batch(
      [f"--flagfile={trained}/flags.txt", f"--workdir={trained}", "--mode=eval", "--model_args=depth=2,width=16"],
      [f"--flagfile={trained}/flags.txt", f"--workdir={trained}", "--mode=attack", "--data_args=image_size=16"],
      [f"--flagfile={trained}/flags.txt", f"--workdir={trained}", "--mode=eval", "--optim=sgd"])
  for result, diff in zip(results[:2], ["--model_args: workdir has depth=1,width=16, command has depth=2,width=16",
                                        "--data_args: workdir has image_size=8, command has image_size=16"]):
    line, = result["stderr"].strip().splitlines()
    assert result["code"] == 2 and "holds a run of another model or data" in line and diff in line, line
    assert "damaged" not in line
  line = results[2]["stderr"].strip().splitlines()[-1]  # another optimizer: the state's tree differs
  assert results[2]["code"] == 2 and "is intact but does not fit these flags" in line and "damaged" not in line, line
  assert f"--flagfile={os.path.join(trained, 'flags.txt')}" in line
  assert files(trained) == before  # nothing written, moved or deleted


def test_flags_that_shape_neither_model_nor_data_may_differ_in_a_read(trained):
  """A sampler's settings, the rate, the step count: a mode reads the run with them (DDIM on a DDPM run)."""
  metrics = loop.evaluate_checkpoint(Config(**{**CONFIG.__dict__, "steps": 99, "lr": 0.5, "temperature": 0.5}),
                                     trained)
  assert metrics["step"] == 8 and 0 <= metrics["test_accuracy"] <= 1


def test_flags_txt_gives_the_command_back_prompt_included(tmp_path):
  """`--flagfile=WORKDIR/flags.txt` reruns the run: every field parses back to its value, a prompt's newlines,
  tabs and backslashes too (written as escapes, since a flag file holds one flag per line)."""
  from absl import flags
  from jaxdl.cli import flags as jaxdl_flags
  from jaxdl.config import to_flagfile
  for prompt in ("\n", "ROMEO:\n\tto be\\or", "plain"):
    config = Config(**{**CONFIG.__dict__, "prompt": prompt})
    (tmp_path / "flags.txt").write_text(to_flagfile(config))
    flags.FLAGS.unparse_flags()
    try:
      flags.FLAGS(["jaxdl", f"--flagfile={tmp_path / 'flags.txt'}"])
      assert jaxdl_flags.config_from_flags() == config
    finally:
      flags.FLAGS.unparse_flags()
