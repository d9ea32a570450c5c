"""orbax checkpoints: asynchronous saves, the last k kept plus the best by the monitored metric.

A damaged step directory is found before orbax reads it (orbax's constructor already parses every
step's metadata and metrics) and reported as one UsageError that names it and the way on. Array
data is stored raw, so random bytes in it would restore silently as wrong weights: each finished
step gets a CHECKSUMS file (size and sha256 of every file), checked before the step is restored.
"""

import functools
import glob
import hashlib
import json
import os
from typing import Any

import jax
import orbax.checkpoint as ocp
from absl import logging
from orbax.checkpoint import checkpoint_managers as policies
from orbax.checkpoint._src.metadata import array_metadata_store  # the Store orbax's default handler uses

from jaxdl.errors import UsageError

CHECKSUMS = "jaxdl_checksums.json"

# What each file of a step directory holds, for the error line. All but the ocdbt manifest are JSON
# and parsed to check them; the required ones must exist in the step that is restored.
_WHAT = {"_CHECKPOINT_METADATA": "checkpoint metadata", "metrics/metrics": "metrics",
         "data/metadata": "data-iterator state", "state/_METADATA": "array metadata",
         "state/_sharding": "array sharding", "state/array_metadatas/*": "array metadata",
         "state/manifest.ocdbt": "array data manifest", CHECKSUMS: "checksums"}
_REQUIRED = ("_CHECKPOINT_METADATA", "data/metadata", "state/_METADATA", "state/manifest.ocdbt")
_JSON = tuple(rel for rel in _WHAT if rel != "state/manifest.ocdbt")


def checksums(step_dir: str) -> dict[str, list]:
  """{relative path: [size, sha256]} of every file of a step directory but the checksum file itself."""
  out = {}
  for root, _, files in os.walk(step_dir):
    for name in files:
      path = os.path.join(root, name)
      rel = os.path.relpath(path, step_dir)
      if rel != CHECKSUMS:
        with open(path, "rb") as f:
          out[rel] = [os.path.getsize(path), hashlib.file_digest(f, "sha256").hexdigest()]
  return out


def step_dirs(directory: str) -> dict[int, str]:
  """{step: path} of the finished step directories (orbax's unfinished `*.orbax-checkpoint-tmp-*` are not)."""
  if not os.path.isdir(directory):
    return {}
  return {int(name): os.path.join(directory, name) for name in os.listdir(directory)
          if name.isdigit() and os.path.isdir(os.path.join(directory, name))}


def damage(step_dir: str, allow_missing: bool = False) -> str | None:
  """What looks wrong in a step directory's files (missing, empty, unreadable metadata), or None.

  `allow_missing` tolerates missing files: what a kill leaves of an older step while orbax's
  retention policy deletes it file by file (orbax lists such a step but never restores it).
  """
  for rel in _REQUIRED:
    if not allow_missing and not os.path.exists(os.path.join(step_dir, rel)):
      return f"its {_WHAT[rel]} ({rel}) is missing"
  for root, _, files in os.walk(step_dir):
    for name in files:
      path = os.path.join(root, name)
      if os.path.getsize(path) == 0:
        return f"{os.path.relpath(path, step_dir)} is empty"
  for pattern in _JSON:
    for path in glob.glob(os.path.join(step_dir, pattern)):
      try:
        with open(path, encoding="utf-8") as f:
          json.load(f)
      except (UnicodeDecodeError, json.JSONDecodeError):
        return f"its {_WHAT[pattern]} ({os.path.relpath(path, step_dir)}) is not readable JSON"
  recorded = _recorded_checksums(step_dir)
  for rel, (size, _) in recorded.items():
    path = os.path.join(step_dir, rel)
    if not os.path.exists(path):
      if allow_missing:
        continue
      return f"{rel} is missing"
    if os.path.getsize(path) != size:
      return f"{rel} has {os.path.getsize(path)} bytes where {size} were written"
  return None


def _recorded_checksums(step_dir: str) -> dict[str, list]:
  path = os.path.join(step_dir, CHECKSUMS)
  if not os.path.exists(path):
    return {}  # a run killed between orbax finishing the step and the checksums: nothing to compare
  with open(path) as f:
    return json.load(f)


def changed_file(step_dir: str) -> str | None:
  """The first file whose bytes differ from its recorded checksum, or None (reads every byte)."""
  recorded = _recorded_checksums(step_dir)
  if not recorded:
    return None
  now = checksums(step_dir)
  return next((rel for rel, entry in recorded.items() if now.get(rel) != entry), None)


def damaged_error(directory: str, step: int, what: str) -> UsageError:
  """The one line for a damaged step: which directory, what is wrong, where the run goes on from."""
  steps = step_dirs(directory)
  intact = [s for s, path in steps.items() if s != step and damage(path) is None]
  resume = f"resumes from step {max(intact)} ({steps[max(intact)]})" if intact else "starts again from step 0"
  path = steps.get(step, os.path.join(directory, str(step)))
  target = os.path.join(os.path.dirname(directory), f"damaged-checkpoint-{step}")
  return UsageError(f"checkpoint {path} is damaged: {what}; move it away (mv {path} {target}) and rerun: "
                    f"the run then {resume}")


def _metricless_saves_are_expected(record) -> bool:
  """orbax warns at every save without metrics while it tracks a best checkpoint; the loop saves between
  evaluations by design, and the warning landed inside the progress bar."""
  return "Requested `tracked_metric`" not in str(record.msg)


@functools.cache
def _save_replicas_whole_on_cpu() -> None:
  """On CPU, write each replicated array from one device instead of 1/R of it from each of R devices.

  orbax's replica-parallel saving slices every array per replica, compiling one slice per distinct
  shape: 128 compilations (7 s) for a small ResNet on 8 CPU devices, for nothing on one host's memory.
  Only that option differs from orbax's default jax.Array handler (same files, same array metadata).
  """
  if jax.default_backend() != "cpu":
    return
  handler = ocp.type_handlers.ArrayHandler(use_replica_parallel=False,
                                           array_metadata_store=array_metadata_store.Store())
  verbosity = logging.get_verbosity()
  logging.set_verbosity(logging.ERROR)  # orbax warns about any override, here a deliberate one
  try:
    ocp.type_handlers.register_type_handler(jax.Array, handler, override=True)
  finally:
    logging.set_verbosity(verbosity)


class Checkpoints:
  """Saves {state pytree, data iterator state} per step under `directory`.

  `create=False` opens an existing directory only (for evaluation): a missing one is a UsageError
  and nothing is created.
  """

  def __init__(self, directory: str, keep: int, monitor: str, monitor_mode: str, create: bool = True):
    self.directory = os.path.abspath(directory)
    self._writable = create
    _save_replicas_whole_on_cpu()
    if _metricless_saves_are_expected not in logging.get_absl_logger().filters:
      logging.get_absl_logger().addFilter(_metricless_saves_are_expected)
    if not create and not step_dirs(self.directory):
      raise UsageError(f"no checkpoint in {self.directory}; train first with --mode=train")
    steps = step_dirs(self.directory)
    for step, path in sorted(steps.items()):
      what = damage(path, allow_missing=step != max(steps))
      if what:
        raise damaged_error(self.directory, step, what)

    def rank(metrics):
      """Orders by the metric, then prefers the earlier step among ties (as early stopping counts them)."""
      return metrics[monitor], -metrics["step"] if monitor_mode == "max" else metrics["step"]

    best = policies.BestN(get_metric_fn=rank, reverse=monitor_mode == "min", n=1,
                          keep_checkpoints_without_metrics=False)
    options = ocp.CheckpointManagerOptions(
        best_fn=rank, best_mode=monitor_mode,  # best_fn also makes orbax write the metrics
        preservation_policy=policies.AnyPreservationPolicy([policies.LatestN(n=keep), best]),
        enable_async_checkpointing=create, cleanup_tmp_directories=create, create=create)
    try:
      self._manager = ocp.CheckpointManager(self.directory, options=options)
    except Exception as e:  # damage the checks above do not know; orbax raises many types for it
      raise UsageError(f"cannot open the checkpoints in {self.directory} ({type(e).__name__}: "
                       f"{_first_line(e)}); move the damaged step directory away and rerun") from None

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def best_step(self) -> int | None:
    return self._manager.best_step()

  def all_steps(self) -> list[int]:
    return list(self._manager.all_steps())

  def _seal(self) -> None:
    """Waits for the save in flight, then writes the checksums of every finished step that lacks them (process 0
    of a multi-host run does)."""
    self._manager.wait_until_finished()
    if jax.process_index() != 0:
      return
    for path in step_dirs(self.directory).values():
      target = os.path.join(path, CHECKSUMS)
      if not os.path.exists(target):
        try:
          sums = checksums(path)
        except FileNotFoundError:  # a step orbax's retention policy is deleting
          continue
        with open(target + ".tmp", "w") as f:
          json.dump(sums, f)
        os.replace(target + ".tmp", target)

  def save(self, step: int, state, data_state: dict, metrics: dict[str, float] | None = None) -> None:
    """Starts an asynchronous save (after sealing the previous one); arrays leave the device before it returns."""
    if step in self._manager.all_steps():
      return
    self._seal()
    args = ocp.args.Composite(state=ocp.args.StandardSave(state), data=ocp.args.JsonSave(data_state))
    self._manager.save(step, args=args, metrics={**metrics, "step": step} if metrics else None, force=True)

  def restore(self, step: int, abstract_state):
    """Returns (state, data_state); damaged array data is a UsageError naming the step directory."""
    changed = changed_file(os.path.join(self.directory, str(step)))
    if changed:
      raise damaged_error(self.directory, step, f"{changed} differs from the checksum written with it")
    args = ocp.args.Composite(state=ocp.args.StandardRestore(abstract_state), data=ocp.args.JsonRestore())
    try:
      restored = self._manager.restore(step, args=args)
    except Exception as e:  # orbax/tensorstore raise many types for damaged files; all mean the same here
      path = os.path.join(self.directory, str(step))
      if _recorded_checksums(path):  # its files are as they were written: these flags build another state
        raise UsageError(f"checkpoint {path} is intact but does not fit these flags ({type(e).__name__}: "
                         f"{_first_line(e)}); give the run's own flags (--flagfile="
                         f"{os.path.join(os.path.dirname(self.directory), 'flags.txt')})") from None
      raise damaged_error(self.directory, step, f"its arrays cannot be read or do not match these flags "
                                                f"({type(e).__name__}: {_first_line(e)})") from None
    return restored.state, restored.data

  def wait(self) -> None:
    if self._writable:
      self._seal()
    else:
      self._manager.wait_until_finished()

  def close(self) -> None:
    self.wait()
    self._manager.close()


def _first_line(e: Exception) -> str:
  text = str(e).strip()
  return text.splitlines()[0][:200] if text else type(e).__name__


def read(run_dir: str, abstract_state, monitor: str, monitor_mode: str, step: int | None = None,
         best: bool = False) -> tuple[Any, int]:
  """(state, step) of one checkpoint of the run in `run_dir`, opened read-only (evaluation, sampling, a teacher, a
  judge, an ensemble member): `step`, else with `best` the one the run's validation `monitor` ranked best, else the
  latest."""
  ckpt = Checkpoints(os.path.join(run_dir, "checkpoints"), 1, monitor, monitor_mode, create=False)
  try:
    if step is None:
      step = (best and ckpt.best_step()) or ckpt.latest_step()
    elif step not in ckpt.all_steps():
      raise UsageError(f"no checkpoint {step} in {ckpt.directory}; it keeps {ckpt.all_steps()}")
    return ckpt.restore(step, abstract_state)[0], step
  finally:
    ckpt.close()
