"""A run's workdir: checked writable and claimed by one set of flags before anything is written to it."""

import os

import jax

from jaxdl.config import Config, differences, from_flagfile, to_flagfile
from jaxdl.errors import UsageError


def prepare(workdir: str, config: Config, artifacts: dict[str, str] | None = None) -> None:
  """Checks the workdir is writable and that an existing run in it was started with these flags and the same
  data artifacts (a tokenizer's vocabulary); writes flags.txt and the artifacts (process 0 of a multi-host
  run writes, every process checks)."""
  primary = jax.process_index() == 0
  try:
    os.makedirs(workdir, exist_ok=True)
    if primary:
      with open(os.path.join(workdir, ".write_test"), "w"):
        pass
      os.remove(os.path.join(workdir, ".write_test"))
  except OSError as e:
    raise UsageError(f"--workdir={workdir} is not a writable directory ({e.strerror})") from None
  path = os.path.join(workdir, "flags.txt")
  if os.path.exists(path):
    with open(path) as f:
      diffs = differences(from_flagfile(f.read()), config)
    if diffs:
      raise UsageError(f"--workdir={workdir} holds a run with other flags ({'; '.join(diffs)}); "
                       "use a new --workdir or the same flags")
  artifacts = artifacts or {}
  for name, text in artifacts.items():
    if os.path.exists(os.path.join(workdir, name)):
      with open(os.path.join(workdir, name)) as f:
        if f.read() != text:
          raise UsageError(f"--workdir={workdir} holds a {name} other than the one --data={config.data} gives now "
                           "(the data changed since the run started); use a new --workdir or the original data")
  if not primary:
    return
  for name, text in {**artifacts, "flags.txt": to_flagfile(config)}.items():
    with open(os.path.join(workdir, name + ".tmp"), "w") as f:
      f.write(text)
    os.replace(os.path.join(workdir, name + ".tmp"), os.path.join(workdir, name))
