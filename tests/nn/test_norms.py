"""BatchNorm, LayerNorm, InstanceNorm, GroupNorm against NumPy; BatchNorm's running statistics and eval mode."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl.nn.norms import norms
from tests.reference import norms as ref

X = np.random.default_rng(0).normal(loc=2.0, scale=3.0, size=(4, 5, 6, 64)).astype(np.float32)


@pytest.mark.parametrize("name,reference", [
    ("batch", ref.batch_norm), ("layer", ref.layer_norm), ("instance", ref.instance_norm),
    ("group", lambda x: ref.group_norm(x, 32))])
def test_training_forward_matches_numpy(name, reference):
  layer = norms.get(name)(train=True)
  variables = layer.init(jax.random.PRNGKey(0), X)
  out = layer.apply(variables, X, mutable=["batch_stats"])[0] if name == "batch" else layer.apply(variables, X)
  chex.assert_trees_all_close(np.asarray(out), reference(X.astype(np.float64)), rtol=1e-4, atol=1e-4)


def test_batch_norm_running_statistics_and_eval_mode():
  layer = norms.get("batch")(train=True)
  variables = layer.init(jax.random.PRNGKey(0), X)
  _, state = layer.apply(variables, X, mutable=["batch_stats"])
  stats = state["batch_stats"]
  chex.assert_trees_all_close(np.asarray(stats["mean"]), ref.running_average(0.0, X.mean((0, 1, 2))), rtol=1e-5)
  chex.assert_trees_all_close(np.asarray(stats["var"]), ref.running_average(1.0, X.var((0, 1, 2))), rtol=1e-4)
  # Eval normalizes with the running statistics, not the batch's.
  eval_layer = norms.get("batch")(train=False)
  out = eval_layer.apply({"params": variables["params"], "batch_stats": stats}, X)
  want = (X - np.asarray(stats["mean"])) / np.sqrt(np.asarray(stats["var"]) + 1e-5)
  chex.assert_trees_all_close(np.asarray(out), want, rtol=1e-4, atol=1e-4)


def test_batch_norm_statistics_span_all_devices_under_jit():
  """Sharded over 8 devices, the batch mean is the whole batch's: 8 devices equal one large batch."""
  from jaxdl.parallel import JitParallel
  layer = norms.get("batch")(train=True)
  variables = layer.init(jax.random.PRNGKey(0), X[:1])
  apply = jax.jit(lambda v, x: layer.apply(v, x, mutable=["batch_stats"]))
  x8 = np.concatenate([X, X + 1.0])  # (8, ...): per-device batches differ
  sharded = JitParallel("data=-1").put_batch({"x": x8})["x"]
  out8, st8 = apply(variables, sharded)
  out1, st1 = apply(variables, jnp.asarray(x8))
  chex.assert_trees_all_close(out8, out1, atol=1e-5)
  chex.assert_trees_all_close(st8, st1, atol=1e-6)
