"""Every registered model: shapes, finite outputs, pinned parameter counts; forward passes against NumPy."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxdl.models  # noqa: F401
from jaxdl.errors import InputShapeError
from jaxdl.models import lenet, mlp
from jaxdl.registry import models
from tests.reference import layers as ref

# (input side, channels, parameter count at 10 classes)
PINNED = {
    "lenet5": (32, 1, 61_706),             # LeCun et al. 1998: 156 + 2,416 + 48,120 + 10,164 + 850
    "lenet_modern": (28, 1, 1_256_080),    # the notes' table: 520 + 25,050 + 1,225,500 + 5,010
    "linear": (8, 1, 650),                 # 64 x 10 + 10
    "mlp": (8, 1, 64 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10),
}


def count(tree):
  return sum(x.size for x in jax.tree.leaves(tree))


@pytest.mark.parametrize("name", models.names())
def test_registered_model_shapes_counts_and_finite_outputs(name):
  side, channels, params = PINNED[name]
  model = models.get(name)(num_classes=10)
  x = jnp.asarray(np.random.default_rng(0).uniform(size=(2, side, side, channels)), jnp.float32)
  assert count(jax.eval_shape(model.init, jax.random.PRNGKey(0), x)) == params
  variables = model.init(jax.random.PRNGKey(0), x)
  logits = model.apply(variables, x, train=True, rngs={"dropout": jax.random.PRNGKey(1)})
  chex.assert_shape(logits, (2, 10))
  chex.assert_tree_all_finite(logits)


def _np(tree):
  return jax.tree.map(lambda x: np.asarray(x, np.float64), tree)


X32 = np.random.default_rng(1).uniform(size=(3, 32, 32, 1)).astype(np.float32)


@pytest.mark.parametrize("activation,pool", [("tanh", "avg"), ("relu", "max")])
def test_lenet5_matches_numpy(activation, pool):
  model = lenet.LeNet5(activation=activation, pool=pool)
  params = model.init(jax.random.PRNGKey(0), X32)["params"]
  want = ref.lenet5(X32.astype(np.float64), _np(params), activation=np.tanh if activation == "tanh" else ref.relu,
                    pool=np.mean if pool == "avg" else np.max)
  chex.assert_trees_all_close(np.asarray(model.apply({"params": params}, X32)), want, rtol=1e-4, atol=1e-5)


def test_lenet_modern_matches_numpy():
  x = X32[:, :28, :28]
  model = lenet.LeNetModern()
  params = model.init(jax.random.PRNGKey(0), x)["params"]
  chex.assert_trees_all_close(np.asarray(model.apply({"params": params}, x)),
                              ref.lenet_modern(x.astype(np.float64), _np(params)), rtol=1e-4, atol=1e-5)


def test_mlp_matches_numpy_and_dropout_is_off_in_eval():
  x = X32[:, :8, :8]
  model = mlp.MLP(depth=3, width=32, dropout=0.5)
  params = model.init(jax.random.PRNGKey(0), x)["params"]
  eval_out = model.apply({"params": params}, x, train=False)
  chex.assert_trees_all_close(np.asarray(eval_out), ref.mlp(x.astype(np.float64), _np(params), depth=3),
                              rtol=1e-4, atol=1e-5)
  train_out = model.apply({"params": params}, x, train=True, rngs={"dropout": jax.random.PRNGKey(3)})
  assert not np.allclose(train_out, eval_out)


@pytest.mark.parametrize("activation", ["tanh", "gelu", "maxout", "abs"])
def test_mlp_activation_and_initializer_are_settable(activation):
  x = X32[:, :8, :8]
  model = mlp.MLP(depth=1, width=16, activation=activation, initializer="xavier_uniform")
  chex.assert_shape(model.apply(model.init(jax.random.PRNGKey(0), x), x), (3, 10))


def test_lenet5_refuses_other_image_sizes():
  with pytest.raises(InputShapeError, match="32x32.*28x28"):
    lenet.LeNet5().init(jax.random.PRNGKey(0), jnp.zeros((1, 28, 28, 1)))
