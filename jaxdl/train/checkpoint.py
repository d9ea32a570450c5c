"""orbax checkpoints: asynchronous saves, the last k kept plus the best by the monitored metric."""

import os

import orbax.checkpoint as ocp
from orbax.checkpoint import checkpoint_managers as policies

from jaxdl.errors import UsageError


class Checkpoints:
  """Saves {state pytree, data iterator state} per step under `directory`."""

  def __init__(self, directory: str, keep: int, monitor: str, monitor_mode: str):
    self.directory = os.path.abspath(directory)

    def rank(metrics):
      """Orders by the metric, then prefers the earlier step among ties (as early stopping counts them)."""
      return metrics[monitor], -metrics["step"] if monitor_mode == "max" else metrics["step"]

    best = policies.BestN(get_metric_fn=rank, reverse=monitor_mode == "min", n=1,
                          keep_checkpoints_without_metrics=False)
    options = ocp.CheckpointManagerOptions(
        best_fn=rank, best_mode=monitor_mode,  # best_fn also makes orbax write the metrics
        preservation_policy=policies.AnyPreservationPolicy([policies.LatestN(n=keep), best]),
        enable_async_checkpointing=True, cleanup_tmp_directories=True, create=True)
    self._manager = ocp.CheckpointManager(self.directory, options=options)

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def best_step(self) -> int | None:
    return self._manager.best_step()

  def all_steps(self) -> list[int]:
    return list(self._manager.all_steps())

  def save(self, step: int, state, data_state: dict, metrics: dict[str, float] | None = None) -> None:
    """Starts an asynchronous save; arrays are copied off the device before this returns."""
    if step in self._manager.all_steps():
      return
    args = ocp.args.Composite(state=ocp.args.StandardSave(state), data=ocp.args.JsonSave(data_state))
    self._manager.save(step, args=args, metrics={**metrics, "step": step} if metrics else None, force=True)

  def restore(self, step: int, abstract_state):
    """Returns (state, data_state); a damaged checkpoint is a UsageError naming its directory."""
    args = ocp.args.Composite(state=ocp.args.StandardRestore(abstract_state), data=ocp.args.JsonRestore())
    try:
      restored = self._manager.restore(step, args=args)
    except Exception as e:  # orbax/tensorstore raise many types for damaged files; all mean the same here
      path = os.path.join(self.directory, str(step))
      first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
      raise UsageError(f"checkpoint {path} is corrupt or incompatible with these flags "
                       f"({type(e).__name__}: {first_line[:200]}); move it away to start over") from None
    return restored.state, restored.data

  def wait(self) -> None:
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.close()
