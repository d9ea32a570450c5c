"""`--mode=train` and `--mode=eval`: the training loop's own modes, reported in a few lines."""

import os

from jaxdl.config import Config
from jaxdl.train import loop


def train(config: Config, workdir: str) -> str:
  result = loop.train_and_evaluate(config, workdir)
  return "\n".join([
      "final: " + " ".join(f"{k}={v:.4f}" for k, v in sorted(result["final"].items())),
      f"trained {result['steps_run']} steps in {result['train_s']:.1f}s; params {result['params_count']:,}; "
      f"fingerprint {result['params_fingerprint'][:16]}",
      f"results in {os.path.abspath(workdir)}: summary.json, metrics.jsonl, plots/, checkpoints/ "
      f"(TensorBoard: tensorboard --logdir {workdir})"])


def evaluate(config: Config, workdir: str) -> str:
  return " ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                  for k, v in loop.evaluate_checkpoint(config, workdir).items())
