"""The launch scripts: shellcheck-clean, each with --help, and the exact command lines they would run."""

import glob
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

SCRIPTS = sorted(glob.glob(os.path.join(REPO, "launch", "*.sh")))


def run(*args: str) -> subprocess.CompletedProcess:
  return subprocess.run(list(args), cwd="/", capture_output=True, text=True, timeout=60)  # any directory works


def test_every_launch_script_passes_shellcheck():
  assert [os.path.basename(s) for s in SCRIPTS] == ["local.sh", "slurm.sh", "tpu_vm.sh"]
  proc = run(os.path.join(os.path.dirname(sys.executable), "shellcheck"), *SCRIPTS)
  assert proc.returncode == 0, proc.stdout


@pytest.mark.parametrize("script", SCRIPTS, ids=os.path.basename)
def test_help_explains_the_usage(script):
  proc = run(script, "--help")
  assert proc.returncode == 0 and proc.stdout.startswith("Usage: launch/")


def test_slurm_dry_run_prints_the_sbatch_and_exact_srun_command_lines():
  proc = run(f"{REPO}/launch/slurm.sh", "--dry-run", "--nodes=2", "--gpus_per_node=4", "--per=gpu", "digits_mlp",
             "--steps=10")
  assert proc.returncode == 0, proc.stderr
  sbatch, srun = proc.stdout.splitlines()
  assert srun == ("srun: srun --nodes=2 --ntasks-per-node=4 --gpus-per-task=1 --kill-on-bad-exit=1 .venv/bin/jaxdl "
                  "--flagfile=experiments/digits_mlp.flags --workdir=runs/digits_mlp --steps=10")
  assert sbatch.startswith("sbatch: sbatch --job-name=jaxdl-digits_mlp --nodes=2 --ntasks-per-node=4 "
                           "--gpus-per-node=4 ")
  assert f"JAXDL_ROOT={REPO} {REPO}/launch/slurm.sh --nodes=2 --gpus_per_node=4 --per=gpu digits_mlp" in sbatch
  per_node = run(f"{REPO}/launch/slurm.sh", "--dry-run", "digits_mlp").stdout.splitlines()[1]
  assert "--ntasks-per-node=1 --gpus-per-task=8 " in per_node
  for args, message in [(("--per=core", "digits_mlp"), "choose node or gpu"), (("nope",), "no experiments/nope"),
                        (("--bogus", "digits_mlp"), "unknown option --bogus")]:
    proc = run(f"{REPO}/launch/slurm.sh", "--dry-run", *args)
    assert proc.returncode == 2 and message in proc.stderr


def test_tpu_vm_runs_the_same_command_on_every_worker_and_deletes_the_vm():
  proc = run(f"{REPO}/launch/tpu_vm.sh", "--dry-run", "run", "my-tpu", "us-central2-b", "digits_mlp", "--steps=5")
  assert proc.returncode == 0, proc.stderr
  assert proc.stdout.startswith("gcloud compute tpus tpu-vm ssh my-tpu --zone=us-central2-b --worker=all --command ")
  assert "--flagfile=experiments/digits_mlp.flags" in proc.stdout and "--steps=5" in proc.stdout
  deleted = run(f"{REPO}/launch/tpu_vm.sh", "--dry-run", "delete", "my-tpu", "us-central2-b").stdout
  assert deleted == "gcloud compute tpus tpu-vm delete my-tpu --zone=us-central2-b --quiet\n"
  assert run(f"{REPO}/launch/tpu_vm.sh", "resize", "x", "y").returncode == 2
