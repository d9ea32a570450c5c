"""Test set-up: the process's CPU devices (before JAX starts), freed memory kept for reuse, quiet absl logging,
helpers for the CLI.

A pytest process runs on one CPU device, and runs the tests not marked `parallel`; with JAXDL_TEST_DEVICES=8 it
has 8 fake devices and runs only the `parallel` ones (meshes, sharding, pmap, multi-process, device-count parity).
`make test` runs both processes. Eight fake devices on 2 cores only cost time elsewhere, and their collectives can
starve: XLA:CPU aborts an all-reduce whose 8 device threads do not all arrive within 40 s.
"""

import os
import re
import tempfile

DEVICES = int(os.environ.get("JAXDL_TEST_DEVICES", "1"))
PARALLEL_DEVICES = 8  # what the `parallel` tests need
if DEVICES not in (1, PARALLEL_DEVICES):
  raise ValueError(f"JAXDL_TEST_DEVICES={DEVICES}: 1 (the default) or {PARALLEL_DEVICES} (the `parallel` tests)")
USER_XLA_FLAGS = os.environ.get("XLA_FLAGS", "")  # what a user's jaxdl process gets (tests/test_experiments.py)
# The suite's programs mostly run for milliseconds and compile for seconds (about 70% of its time is tracing,
# lowering and compiling), so they compile the cheaper way: LLVM's optimization level 1 instead of 2 and XLA:CPU's
# classic elemental emitters instead of its MLIR fusion emitters; the HLO passes are the same. Measured with cold
# caches, two workers: the model and task tests 94.1 s -> 71.3 s (level 1 alone: 85.8 s), the loop, probe, layer
# and CLI tests 85.2 s -> 69.4 s. Level 0 compiled faster still (53.1 s) but moved a bit-exact comparison of two
# programs (tests/train/test_averaging.py), so it is not used. jaxdl processes a test starts inherit the settings;
# those that measure an experiment as a user runs it get the user's XLA_FLAGS.
FAST_COMPILE_XLA_FLAGS = "--xla_backend_optimization_level=1 --xla_cpu_use_fusion_emitters=false"
# The device count is set explicitly, so that one in the caller's XLA_FLAGS cannot leak in.
os.environ["XLA_FLAGS"] = " ".join([re.sub(r"--xla_force_host_platform_device_count=\S+", "", USER_XLA_FLAGS).strip(),
                                    FAST_COMPILE_XLA_FLAGS, f"--xla_force_host_platform_device_count={DEVICES}"]).strip()
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


_LEFT = pytest.StashKey[int]()  # tests of the other kind, which the other process runs


def pytest_collection_modifyitems(config, items):
  """Keeps the tests of this process's kind: `parallel` ones with 8 devices, the others with one; `slow` ones first
  (`make test-all`), so that the longest runs start early and the short tests fill the workers' ends."""
  wanted = DEVICES == PARALLEL_DEVICES
  left = [item for item in items if (item.get_closest_marker("parallel") is not None) != wanted]
  if left:
    config.hook.pytest_deselected(items=left)
    items[:] = [item for item in items if (item.get_closest_marker("parallel") is not None) == wanted]
  items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: the file order otherwise
  config.stash[_LEFT] = len(left)


def pytest_terminal_summary(terminalreporter, config):
  left = config.stash.get(_LEFT, 0)
  if left:
    other = f"JAXDL_TEST_DEVICES={PARALLEL_DEVICES} pytest" if DEVICES == 1 else "pytest"
    terminalreporter.write_line(f"{left} tests of the other kind were deselected in this {DEVICES}-device process; "
                                f"`{other}` runs them (make test runs both)")


@pytest.fixture
def workdir(tmp_path):
  return str(tmp_path / "run")
