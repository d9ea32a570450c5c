"""Drop-path: per-sample, identity in eval, unbiased in expectation; dropout is inverted and off in eval."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxdl.nn.regularize import DropPath


def test_drop_path_zeroes_whole_samples_and_rescales_survivors():
  x = jnp.ones((1000, 4, 4, 2))
  out = DropPath(0.25).apply({}, x, train=True, rngs={"dropout": jax.random.PRNGKey(0)})
  per_sample = np.asarray(out).reshape(1000, -1)
  kept = per_sample[:, 0] > 0
  assert np.all(per_sample[kept] == 1 / 0.75) and np.all(per_sample[~kept] == 0)  # whole samples
  assert abs(kept.mean() - 0.75) < 0.04
  assert abs(per_sample.mean() - 1.0) < 0.06  # unbiased in expectation
  np.testing.assert_array_equal(DropPath(0.25).apply({}, x, train=False), x)


def test_inverted_dropout():
  x = jnp.ones((10_000,))
  out = nn.Dropout(0.5, deterministic=False).apply({}, x, rngs={"dropout": jax.random.PRNGKey(0)})
  assert set(np.unique(np.asarray(out))) == {0.0, 2.0} and abs(float(out.mean()) - 1.0) < 0.05
  np.testing.assert_array_equal(nn.Dropout(0.5, deterministic=True).apply({}, x), x)
