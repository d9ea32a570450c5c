"""Multi-host for real: two jaxdl processes on this machine (one CPU device each, a localhost coordinator, gloo
collectives) train as one run with two devices does; killing one stops the other with a clear error at once;
restarting resumes exactly, with two processes or with one."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.parallel  # several processes: in the parallel process, not beside two xdist workers

# The kill after the first checkpoint lands with 600 of the 800 steps to go (~5 s at the 2 processes' 127 steps/s).
FLAGS = ("--data=digits", "--data_args=image_size=8", "--model=mlp", "--model_args=depth=2,width=32",
         "--optim=momentum", "--lr=0.05", "--batch_size=64", "--steps=800", "--checkpoint_every=200",
         "--log_every=200")


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


def _start(workdir, devices: int, *extra: str) -> subprocess.Popen:
  env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}
  return subprocess.Popen([sys.executable, "-m", "jaxdl", *FLAGS, f"--workdir={workdir}", *extra], cwd=REPO, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _start_pair(workdir) -> list[subprocess.Popen]:
  coordinator = f"--coordinator=localhost:{_free_port()}"
  return [_start(workdir, 1, coordinator, "--num_processes=2", f"--process_id={i}", "--heartbeat_timeout=10")
          for i in range(2)]


def _fingerprint(proc: subprocess.Popen, workdir) -> str:
  _, err = proc.communicate(timeout=240)
  assert proc.returncode == 0, err[-3000:]
  with open(os.path.join(workdir, "summary.json")) as f:
    return json.load(f)["params_fingerprint"]


@pytest.mark.xdist_group("multihost")
def test_two_processes_train_as_two_devices_do_stop_together_and_resume_exactly(tmp_path):
  workdir = tmp_path / "two"
  first, second = _start_pair(workdir)
  first_checkpoint = workdir / "checkpoints" / "200"
  deadline = time.monotonic() + 120
  while not first_checkpoint.is_dir():
    assert first.poll() is None and second.poll() is None, first.communicate()[1][-3000:]
    assert time.monotonic() < deadline, "no checkpoint after 120 s"
    time.sleep(0.05)
  second.kill()  # SIGKILL: no handler runs, its sockets just close
  killed = time.monotonic()
  _, err = first.communicate(timeout=90)
  assert first.returncode != 0
  # Bounded: a collective fails at once; at worst the 10 s heartbeat timeout ends it.
  assert time.monotonic() - killed < 60
  assert "another process of this multi-host run stopped" in err or "another task died" in err, err[-3000:]
  second.communicate()
  assert not (workdir / "summary.json").exists()

  one = tmp_path / "one"
  shutil.copytree(workdir, one)  # the same checkpoints, resumed by a single process with two devices
  runs = {"two processes": (_start_pair(workdir), workdir), "one process": ([_start(one, 2)], one),
          "uninterrupted": ([_start(tmp_path / "reference", 2)], tmp_path / "reference")}
  prints = {name: [_fingerprint(proc, path) for proc in procs] for name, (procs, path) in runs.items()}
  assert prints["two processes"] == [prints["uninterrupted"][0]] * 2
  assert prints["one process"] == prints["uninterrupted"]
  with open(workdir / "metrics.jsonl") as f:  # process 0 alone wrote the rows, each once
    steps = [json.loads(line)["step"] for line in f if '"train"' in line]
  assert steps == [200, 400, 600, 800]
