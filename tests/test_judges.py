"""The judges shipped with jaxdl (jaxdl/judges): fixed weights that score generated samples on every machine."""

import hashlib
import json

import numpy as np
import pytest

from jaxdl import data, judges
from jaxdl.errors import UsageError
from jaxdl.train import setup


def test_the_digits_judge_reads_the_test_digits_and_is_the_file_its_description_names():
  weights, description = judges.paths("digits")
  about = json.load(open(description))
  assert hashlib.sha256(open(weights, "rb").read()).hexdigest() == about["sha256"]
  dataset = data.load(about["data"], about["data_args"], 0)
  test = dataset.splits["test"].read(np.arange(len(dataset.splits["test"])))
  logits, features = setup.load_judge(f"{judges.PREFIX}digits", dataset)(test["image"])
  assert features.shape == (len(test["label"]), 64)  # the penultimate width FD is computed in
  assert np.mean(np.asarray(logits).argmax(-1) == test["label"]) >= 0.98


def test_an_unknown_judge_or_another_image_size_is_one_line():
  with pytest.raises(UsageError, match="no such shipped judge; shipped: digits"):
    judges.load("cifar", (32, 32, 3))
  with pytest.raises(UsageError, match=r"reads \(8, 8, 1\) images; this run's are \(32, 32, 1\)"):
    judges.load("digits", (32, 32, 1))
