"""Initializers produce the variance the notes state: Xavier 2/(fan_in+fan_out), Kaiming 2/fan_in."""

import jax
import numpy as np
import pytest

import jaxdl.nn.init  # noqa: F401
from jaxdl.registry import initializers

FAN_IN, FAN_OUT = 400, 200


@pytest.mark.parametrize("name,variance,distribution", [
    ("xavier_uniform", 2 / (FAN_IN + FAN_OUT), "uniform"),
    ("xavier_normal", 2 / (FAN_IN + FAN_OUT), "normal"),
    ("he_uniform", 2 / FAN_IN, "uniform"),
    ("he_normal", 2 / FAN_IN, "normal"),
])
def test_variance_and_shape_of_distribution(name, variance, distribution):
  w = np.asarray(initializers.get(name)(jax.random.PRNGKey(0), (FAN_IN, FAN_OUT)))
  assert abs(w.var() / variance - 1) < 0.03  # 80,000 samples: the sampling error is ~0.5%
  assert abs(w.mean()) < 0.01 * np.sqrt(variance) * 10
  bound = np.sqrt(3 * variance)  # a uniform of this variance lives in [-bound, bound]
  if distribution == "uniform":
    assert np.abs(w).max() <= bound + 1e-6
  else:
    assert np.abs(w).max() > bound  # a Gaussian's tails reach past it
