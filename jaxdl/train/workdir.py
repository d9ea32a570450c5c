"""A run's workdir: checked writable, held by one run at a time, and claimed by one set of flags before anything
is written to it."""

import datetime
import fcntl
import os
import socket
import sys
import tempfile

import jax

from jaxdl.config import Config, differences, from_flagfile, to_flagfile
from jaxdl.errors import UsageError
from jaxdl.train import checkpoint

LOCK = ".jaxdl.lock"
# What a mode that reads a run's checkpoint must give as the run did: they shape its model and its data.
MODEL_AND_DATA = ("data", "data_args", "model", "model_args", "task")


class Lock:
  """One writer per workdir: an exclusive flock on WORKDIR/.jaxdl.lock, held while the run lives. The kernel drops
  it when the process ends, even by kill -9, so a dead holder never blocks the next run; its file names the holder
  (host, pid, start), emptied on a clean release, so a takeover from one that died is noticed. The file is never
  deleted: a run that unlinked it could leave two runs holding locks on two different files."""

  def __init__(self, workdir: str):
    self.path = os.path.join(workdir, LOCK)
    self._fd = None

  def acquire(self) -> None:
    fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      holder = os.pread(fd, 4096, 0).decode(errors="replace").strip() or "a run that is starting"
      os.close(fd)
      raise UsageError(f"--workdir={os.path.dirname(self.path)} is in use by another run ({holder}); wait for it "
                       "to end or use another --workdir") from None
    previous = os.pread(fd, 4096, 0).decode(errors="replace").strip()
    if previous:
      print(f"jaxdl: {os.path.dirname(self.path)}: the run that held it ended without releasing it ({previous}); "
            "taking over", file=sys.stderr)
    started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"host {socket.gethostname()}, pid {os.getpid()}, started {started}\n".encode(), 0)
    self._fd = fd

  def release(self) -> None:
    if self._fd is not None:
      os.ftruncate(self._fd, 0)
      os.close(self._fd)  # closing the last descriptor drops the flock
      self._fd = None


def _writable(workdir: str, primary: bool) -> None:
  try:
    os.makedirs(workdir, exist_ok=True)
    if primary:  # a name of its own: two runs started together must not remove each other's
      with tempfile.NamedTemporaryFile(dir=workdir, prefix=".write_test."):
        pass
  except OSError as e:
    raise UsageError(f"--workdir={workdir} is not a writable directory ({e.strerror})") from None


def _check_flags(workdir: str, config: Config, kept: bool) -> None:
  """An earlier run's flags must be these, unless it `kept` no checkpoint (it failed before its first): then the
  corrected command starts over in the same workdir."""
  path = os.path.join(workdir, "flags.txt")
  if not os.path.exists(path):
    return
  with open(path) as f:
    diffs = differences(from_flagfile(f.read()), config)
  if not diffs:
    return
  if not kept:
    print(f"jaxdl: {workdir} holds no checkpoint of its earlier flags ({'; '.join(diffs)}); starting over with "
          "these", file=sys.stderr)
    return
  raise UsageError(f"--workdir={workdir} holds a run with other flags ({'; '.join(diffs)}); "
                   "use a new --workdir or the same flags")


def prepare(workdir: str, config: Config, artifacts: dict[str, str] | None = None) -> Lock | None:
  """Checks the workdir is writable, takes its lock (process 0 of a multi-host run) and checks that an existing run
  in it was started with these flags and the same data artifacts (a tokenizer's vocabulary); writes flags.txt and
  the artifacts. Returns the lock to release when the run ends (None on the other processes)."""
  primary = jax.process_index() == 0
  _writable(workdir, primary)
  lock = Lock(workdir) if primary else None
  if lock:
    lock.acquire()
  try:
    steps = checkpoint.step_dirs(os.path.join(workdir, "checkpoints"))  # read once, under the lock
    _check_flags(workdir, config, bool(steps))
    artifacts = artifacts or {}
    for name, text in artifacts.items():
      if steps and os.path.exists(os.path.join(workdir, name)):
        with open(os.path.join(workdir, name)) as f:
          if f.read() != text:
            raise UsageError(f"--workdir={workdir} holds a {name} other than the one --data={config.data} gives "
                             "now (the data changed since the run started); use a new --workdir or the original data")
  except BaseException:
    if lock:
      lock.release()
    raise
  if primary:
    record = {"flags.txt": to_flagfile(config)} if config.steps >= max(steps, default=0) else {}  # shorter: kept
    for name, text in {**artifacts, **record}.items():
      with open(os.path.join(workdir, name + ".tmp"), "w") as f:
        f.write(text)
      os.replace(os.path.join(workdir, name + ".tmp"), os.path.join(workdir, name))
  return lock


def check_reads(workdir: str, config: Config) -> None:
  """Before a mode reads the run in `workdir`: the command's model and data flags must be the run's (its
  flags.txt), else one line lists the differences (other flags, e.g. a sampler's, may differ)."""
  path = os.path.join(workdir, "flags.txt")
  if not os.path.exists(path):
    return
  with open(path) as f:
    diffs = [d for d in differences(from_flagfile(f.read()), config) if d.split(":")[0][2:] in MODEL_AND_DATA]
  if diffs:
    raise UsageError(f"--mode={config.mode}: --workdir={workdir} holds a run of another model or data "
                     f"({'; '.join(diffs)}); give the run's flags (--flagfile={path}) or the workdir of this run")
