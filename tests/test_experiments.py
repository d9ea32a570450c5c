"""Each CNN family's digits experiment reaches its accuracy (minutes each on 2 cores: `make test-all`)."""

import glob
import os

import jax
import pytest

from jaxdl.config import load_flagfile
from jaxdl.train import loop
from tests.conftest import REPO

FAMILIES = sorted(os.path.basename(p)[:-len(".flags")] for p in glob.glob(os.path.join(REPO, "experiments",
                                                                                      "digits_*.flags")))


@pytest.fixture
def default_prng():
  """The measured numbers in the flag files used JAX's default (partitionable) threefry; so do these runs."""
  jax.config.update("jax_threefry_partitionable", True)
  yield
  jax.config.update("jax_threefry_partitionable", False)


@pytest.mark.slow
@pytest.mark.parametrize("name", FAMILIES)
def test_digits_experiment_accuracy(tmp_path, name, default_prng, record_property):
  """The test floor is reported (the flag files' headers state val and test); val chose the checkpoint."""
  config = load_flagfile(os.path.join(REPO, "experiments", f"{name}.flags"))
  result = loop.train_and_evaluate(config, str(tmp_path))
  for key in ("val_accuracy", "test_accuracy"):
    record_property(key, round(result["final"][key], 4))  # readable with --junitxml
  record_property("train_s", round(result["train_s"], 1))
  floor = {"digits_resnet18": 0.985, "digits_linear_svm": 0.96, "digits_mlp": 0.97}.get(name, 0.98)
  assert result["final"]["test_accuracy"] >= floor
