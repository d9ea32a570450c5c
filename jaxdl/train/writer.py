"""Metric rows to `metrics.jsonl` (the record resume compares) and to TensorBoard."""

import json
import os

import tensorboardX


class MetricWriter:
  """Appends {"step", "split", metrics...} rows; on resume, first drops rows past the restored step.

  Starting from step 0 drops every row, so a run killed before its first checkpoint starts clean. `rows` are
  the rows kept, which every process of a multi-host run reads alike (`enabled`: this process writes).
  """

  def __init__(self, workdir: str, resume_step: int, enabled: bool = True):
    self.path = os.path.join(workdir, "metrics.jsonl")
    self.rows = [r for r in read_rows(self.path) if r["step"] <= resume_step] if resume_step else []
    self._file = self._tb = None
    if not enabled:  # the other processes of a multi-host run: process 0 writes
      return
    with open(self.path + ".tmp", "w") as f:
      f.writelines(json.dumps(r) + "\n" for r in self.rows)
    os.replace(self.path + ".tmp", self.path)  # other processes may be reading it
    self._file = open(self.path, "a")
    self._tb = tensorboardX.SummaryWriter(os.path.join(workdir, "tensorboard"))

  def write(self, step: int, split: str, metrics: dict[str, float]) -> None:
    if self._file is None:
      return
    row = {"step": step, "split": split, **{k: float(v) for k, v in metrics.items()}}
    self._file.write(json.dumps(row) + "\n")
    self._file.flush()
    for name, value in metrics.items():
      self._tb.add_scalar(f"{split}/{name}", float(value), step)

  def close(self) -> None:
    if self._file is not None:
      self._file.close()
      self._tb.close()


def read_rows(path: str) -> list[dict]:
  """The rows of a metrics.jsonl file; a last line cut short by a kill is ignored."""
  if not os.path.exists(path):
    return []
  rows = []
  with open(path) as f:
    for line in f:
      try:
        rows.append(json.loads(line))
      except json.JSONDecodeError:
        break
  return rows
