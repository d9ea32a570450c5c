"""Activations: values and jax.grad against the analytic derivatives; maxout against NumPy."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl.errors import UsageError
from jaxdl.nn.activations import Maxout
from jaxdl.registry import activations
from tests.reference import activations as ref

X = np.linspace(-4, 4, 81) + 0.013  # avoids the kink at exactly 0


@pytest.mark.parametrize("name", sorted(ref.FUNCTIONS))
def test_value_and_derivative_match_the_formula(name):
  f, df = ref.FUNCTIONS[name]
  fn = activations.get(name)
  chex.assert_trees_all_close(np.asarray(fn(jnp.asarray(X))), f(X), rtol=1e-5, atol=1e-6)
  grad = jax.vmap(jax.grad(fn))(jnp.asarray(X, jnp.float32))
  chex.assert_trees_all_close(np.asarray(grad), df(X), rtol=1e-4, atol=1e-5)


def test_gelu_exact_and_tanh_differ_but_stay_close():
  exact, approx = activations.get("gelu")(jnp.asarray(X)), activations.get("gelu_tanh")(jnp.asarray(X))
  assert 0 < float(jnp.abs(exact - approx).max()) < 1e-3


def test_maxout_is_the_max_of_its_pieces():
  x = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
  layer = Maxout(features=3, pieces=4)
  params = layer.init(jax.random.PRNGKey(0), x)["params"]
  out = layer.apply({"params": params}, x)
  chex.assert_shape(out, (4, 3))
  dense = jax.tree.map(np.asarray, params["Dense_0"])
  chex.assert_trees_all_close(np.asarray(out), ref.maxout(x, dense["kernel"], dense["bias"], 4), rtol=1e-5)


def test_unknown_activation_lists_the_choices():
  with pytest.raises(UsageError, match="relu"):
    activations.get("swishy")
