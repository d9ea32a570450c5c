"""--ema_decay: evaluation reads the parameters' moving average while training is unchanged by it, and the average
resumes exactly (it lives in the checkpointed optimizer state)."""

import dataclasses

from jaxdl.config import Config
from jaxdl.train import loop

CONFIG = Config(data="digits", model="mlp", model_args="depth=1,width=32", lr=0.05, batch_size=32, steps=6,
                log_every=3, eval_every=6, checkpoint_every=3)


def test_evaluation_reads_the_average_training_does_not_and_the_average_resumes_exactly(tmp_path):
  plain = loop.train_and_evaluate(CONFIG, str(tmp_path / "plain"))
  averaged = dataclasses.replace(CONFIG, ema_decay=0.5)
  whole = loop.train_and_evaluate(averaged, str(tmp_path / "whole"))
  loop.train_and_evaluate(dataclasses.replace(averaged, steps=3), str(tmp_path / "resumed"))
  resumed = loop.train_and_evaluate(averaged, str(tmp_path / "resumed"))
  assert plain["params_fingerprint"] == whole["params_fingerprint"] == resumed["params_fingerprint"]
  assert whole["final"]["val_loss"] != plain["final"]["val_loss"]
  assert resumed["final"] == whole["final"]
  evaluated = loop.evaluate_checkpoint(averaged, str(tmp_path / "whole"))
  assert evaluated["val_loss"] == whole["final"]["val_loss"]
