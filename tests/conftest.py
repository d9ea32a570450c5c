"""Test set-up: 8 fake CPU devices (before JAX starts), freed memory kept for reuse, quiet absl logging, helpers
for the CLI."""

import os
import tempfile

os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
os.environ.setdefault("JAX_PLATFORMS", "cpu")
# The non-partitionable threefry compiles model inits ~3x faster on CPU (ResNet18: 7 s -> 2 s,
# measured); values differ from the default but are still independent of sharding. Set in the
# environment so the jaxdl processes that tests start draw the same bits as in-process runs.
os.environ["JAX_THREEFRY_PARTITIONABLE"] = "0"
# Most of the suite's time is XLA compiling the same small models again in new runs and processes;
# a persistent cache shared by the workers and the jaxdl processes they start compiles each once.
# A hit returns the same executable, so results are bit-identical to a fresh compile.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(tempfile.gettempdir(), "jaxdl-tests-xla-cache"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")

import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402
from absl import logging  # noqa: E402

from jaxdl import runtime  # noqa: E402

logging.set_verbosity(logging.WARNING)
runtime.keep_freed_memory()  # as the jaxdl command does: XLA's scratch buffers are reused, not faulted in again

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_jaxdl(*flags: str, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
  """Runs `python -m jaxdl FLAGS...` in a fresh process, as a user would."""
  return subprocess.run([sys.executable, "-m", "jaxdl", *flags], cwd=REPO, capture_output=True, text=True,
                        timeout=timeout, env={**os.environ, **(env or {})})


def run_jaxdl_batch(*command_lines: list[str], timeout: float = 300) -> list[dict]:
  """Runs each command line through the jaxdl CLI in one fresh process (tests/cli_batch.py); returns
  [{"code", "stdout", "stderr"}] in order."""
  proc = subprocess.run([sys.executable, "-m", "tests.cli_batch"], cwd=REPO, capture_output=True, text=True,
                        timeout=timeout, input=json.dumps([list(c) for c in command_lines]))
  assert proc.returncode == 0, proc.stderr
  return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture
def workdir(tmp_path):
  return str(tmp_path / "run")
