"""Early stopping on the monitored eval metric, with patience (the notes' "stop when validation stops improving")."""

import dataclasses


@dataclasses.dataclass
class EarlyStopping:
  """Counts evaluations since the monitored metric last improved; `patience` 0 never stops.

  Its state is a function of the eval rows already in metrics.jsonl, so a resumed run rebuilds it
  with `from_rows` instead of checkpointing it.
  """

  metric: str
  mode: str  # "max" or "min"
  patience: int
  best: float | None = None
  since_best: int = 0

  def update(self, value: float) -> None:
    improved = self.best is None or (value > self.best if self.mode == "max" else value < self.best)
    self.best, self.since_best = (value, 0) if improved else (self.best, self.since_best + 1)

  @property
  def should_stop(self) -> bool:
    return self.patience > 0 and self.since_best >= self.patience

  @classmethod
  def from_rows(cls, rows: list[dict], metric: str, mode: str, patience: int) -> "EarlyStopping":
    stopper = cls(metric, mode, patience)
    for row in rows:
      if row["split"] == "eval" and metric in row:
        stopper.update(row[metric])
    return stopper
