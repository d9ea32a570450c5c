"""The `jaxdl` command as a user meets it: one-line errors with exit status 2, never a traceback."""

import os
import sys

import pytest

from jaxdl.config import Config
from jaxdl.train import loop
from tests.conftest import REPO, run_jaxdl
from tests.data.idx_files import write_mnist_like

SMALL = ["--data=digits", "--data_args=image_size=8", "--model=mlp", "--model_args=depth=1,width=32", "--steps=4",
         "--batch_size=32", "--log_every=2"]


def assert_usage_error(proc, *fragments):
  assert proc.returncode == 2, proc.stderr
  assert "Traceback" not in proc.stderr
  lines = [line for line in proc.stderr.splitlines() if line.startswith("jaxdl: error:")]
  assert len(lines) == 1, proc.stderr
  for fragment in fragments:
    assert fragment in lines[0], lines[0]


@pytest.mark.parametrize("flags,fragments", [
    (["--nosuchflag=1"], ["Unknown command line flag 'nosuchflag'"]),
    (["--optim=lion"], ["--optim=lion", "adagrad|adam|adamw|momentum|nesterov|rmsprop|sgd"]),
    (["--model_args=depht=2"], ["--model_args: unknown key 'depht'", "depth"]),
    (["--model_args=depth=two"], ["--model_args depth: expected int, got 'two'"]),
    (["--data=imagenet"], ["unknown dataset 'imagenet'", "digits, idx, synthetic, tfds"]),
    (["--mesh=data=3"], ["--mesh=data=3 does not cover"]),
    (["--steps=0"], ["--steps"]),
])
def test_bad_flags(tmp_path, flags, fragments):
  assert_usage_error(run_jaxdl(*SMALL, f"--workdir={tmp_path}", *flags), *fragments)


def test_missing_and_truncated_idx_files(tmp_path):
  d = write_mnist_like(str(tmp_path / "mnist"))
  os.remove(os.path.join(d, "t10k-images-idx3-ubyte"))
  assert_usage_error(run_jaxdl(f"--data=idx:{d}", f"--workdir={tmp_path}/a"), "missing file t10k-images-idx3-ubyte")
  d = write_mnist_like(str(tmp_path / "mnist2"))
  path = os.path.join(d, "train-labels-idx1-ubyte")
  data = open(path, "rb").read()
  open(path, "wb").write(data[:-7])
  assert_usage_error(run_jaxdl(f"--data=idx:{d}", f"--workdir={tmp_path}/b"), path, "truncated")


def test_image_size_the_model_cannot_take(tmp_path):
  d = write_mnist_like(str(tmp_path / "mnist"))
  assert_usage_error(run_jaxdl(f"--data=idx:{d}", "--data_args=val_size=10", "--model=lenet5", "--batch_size=32",
                               f"--workdir={tmp_path}/run"), "LeNet5 takes 32x32 images, got 28x28", "pad_to=32")


def test_unwritable_workdir(tmp_path):
  blocker = tmp_path / "file"
  blocker.write_text("not a directory")
  assert_usage_error(run_jaxdl(*SMALL, f"--workdir={blocker}/run"), f"--workdir={blocker}/run is not a writable")


def test_corrupt_checkpoint_is_named_and_left_alone(tmp_path):
  workdir = str(tmp_path / "run")
  loop.train_and_evaluate(Config(data="digits", data_args="image_size=8", model="mlp", steps=4, batch_size=32,
                                 checkpoint_every=2, keep_checkpoints=1), workdir)
  step_dir = os.path.join(workdir, "checkpoints", "4")
  damaged = 0
  for root, _, files in os.walk(os.path.join(step_dir, "state")):
    for name in files:
      with open(os.path.join(root, name), "wb") as f:
        f.write(b"garbage")
      damaged += 1
  assert damaged
  before = sorted(os.listdir(step_dir))
  proc = run_jaxdl(f"--flagfile={workdir}/flags.txt", f"--workdir={workdir}", "--steps=6")
  assert_usage_error(proc, f"checkpoint {step_dir} is corrupt")
  assert sorted(os.listdir(step_dir)) == before  # nothing was deleted or overwritten


def test_summary_mode_prints_a_per_layer_table():
  proc = run_jaxdl("--mode=summary", "--model=lenet5")
  assert proc.returncode == 0, proc.stderr
  assert "Conv_0" in proc.stdout and "Dense_2" in proc.stdout
  total = proc.stdout.strip().splitlines()[-1].split()
  assert total == ["total", "61,706", "416,520"]  # LeNet-5: 0.42M multiply-adds per 32x32 image


def test_console_script_trains_and_reports_where_results_are(tmp_path):
  script = os.path.join(os.path.dirname(sys.executable), "jaxdl")
  import subprocess
  proc = subprocess.run([script, *SMALL, f"--workdir={tmp_path}"], capture_output=True, text=True, cwd=REPO,
                        timeout=300)
  assert proc.returncode == 0, proc.stderr
  assert "final: test_accuracy=" in proc.stdout and f"results in {tmp_path}" in proc.stdout


def test_mnist_experiment_runs_on_idx_files(tmp_path):
  d = write_mnist_like(str(tmp_path / "mnist"), n_train=300, n_test=50)
  proc = run_jaxdl("--flagfile=experiments/mnist_lenet5.flags", f"--data=idx:{d}",
                   "--data_args=pad_to=32,val_size=50", "--batch_size=32", "--steps=20", "--warmup_steps=5",
                   f"--workdir={tmp_path}/run")
  assert proc.returncode == 0, proc.stderr
  assert "val_accuracy=" in proc.stdout and "test_accuracy=" in proc.stdout and "params 61,706" in proc.stdout


def test_augment_preview_writes_a_png_grid(tmp_path):
  proc = run_jaxdl("--mode=augment_preview", "--augment=flip,crop=4,rotate=20,cutmix", f"--workdir={tmp_path}")
  assert proc.returncode == 0, proc.stderr
  path = tmp_path / "plots" / "augment_preview.png"
  assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
  assert_usage_error(run_jaxdl("--mode=augment_preview", f"--workdir={tmp_path}"), "needs --augment")
