"""How a run's flags become a model (`setup.build_task`): the --remat flag reaches every Transformer stack,
is refused where there is none, and is warned about where it cannot save memory."""

import logging

import pytest

import jaxdl.models  # noqa: F401
from jaxdl.config import Config
from jaxdl.errors import UsageError
from jaxdl.registry import models
from jaxdl.train import setup as setup_lib


def test_remat_flag_reaches_every_transformer_stack_and_is_refused_elsewhere():
  transformers = (("gpt", "language_model"), ("bert", "masked_lm"), ("transformer", "translate"), ("vit", "classify"))
  for name, task in transformers:
    assert setup_lib.build_task(Config(model=name, task=task, remat="dots"), 16).model.remat == "dots", name
    assert "partition_rules" in vars(models.get(name)), name  # and each declares its tensor-parallel layout
  with pytest.raises(UsageError, match="--remat=full: --model=mlp has no rematerialized layer stack"):
    setup_lib.build_task(Config(model="mlp", remat="full"), 10)
  with pytest.raises(UsageError, match="--model_args remat=half: choose one of none, full, dots, dots_no_batch"):
    setup_lib.build_task(Config(model="gpt", task="language_model", model_args="remat=half"), 16)


def test_remat_on_an_unrolled_stack_warns_on_cpu(caplog):
  """XLA:CPU schedules an unrolled stack's recomputed layers early, so remat saves it no memory (bench-compile:
  2,730 MiB with and without full remat; scanned 3,441 -> 787 MiB); the run says to scan instead."""
  with caplog.at_level(logging.WARNING):
    setup_lib.build_task(Config(model="gpt", task="language_model", remat="full"), 16)
    assert "remat=full saves no memory on an unrolled layer stack on CPU" in caplog.text
    caplog.clear()
    setup_lib.build_task(Config(model="gpt", task="language_model", remat="full", model_args="scan=true"), 16)
    setup_lib.build_task(Config(model="gpt", task="language_model"), 16)
    assert "saves no memory" not in caplog.text
