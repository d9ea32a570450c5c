"""Every optimizer against the notes' update rule in NumPy, 50 steps, 1e-6 relative in float32."""

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxdl import optim
from jaxdl.errors import UsageError
from jaxdl.registry import optimizers
from tests.reference import optimizers as ref

LR = 0.01
STEPS = 50


def quadratic(w):
  """An ill-conditioned bowl: curvatures 0.1 .. 10."""
  curvature = jnp.asarray([0.1, 0.5, 1.0, 3.0, 10.0])
  return 0.5 * jnp.sum(curvature * w ** 2) + jnp.sum(w)


class TinyMLP(nn.Module):
  @nn.compact
  def __call__(self, x):
    return nn.Dense(1)(jnp.tanh(nn.Dense(8)(x)))


X = np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32)
Y = np.sin(X.sum(1, keepdims=True)).astype(np.float32)


def mlp_loss(params):
  return jnp.mean((TinyMLP().apply({"params": params}, X) - Y) ** 2)


def run_both(name, loss, w0, dtype, teacher_forced):
  """Runs jaxdl's optimizer and the NumPy rule side by side for STEPS steps; returns both leaf lists.

  teacher_forced: each step the NumPy rule starts from jaxdl's parameters (its own optimizer
  state evolves from the same gradients), so float32 rounding cannot accumulate over steps and
  only the update rule itself is compared.
  """
  tx = optim.create(name, LR, weight_decay=0.01 if name == "adamw" else 0.0)
  grad = jax.jit(jax.grad(loss))
  update = jax.jit(lambda w, s, g: (lambda u, s: (optax.apply_updates(w, u), s))(*tx.update(g, s, w)))
  w = jax.tree.map(lambda x: jnp.asarray(x, dtype), w0)
  opt_state = tx.init(w)
  rule, init = ref.RULES[name](LR)
  treedef = jax.tree.structure(w)
  ref_w = [np.asarray(x, dtype) for x in jax.tree.leaves(w)]
  ref_state = [init] * len(ref_w)
  for _ in range(STEPS):
    if teacher_forced:
      ref_w = [np.asarray(x) for x in jax.tree.leaves(w)]
    ref_g = [np.asarray(g) for g in jax.tree.leaves(grad(jax.tree.unflatten(treedef, ref_w)))]
    w, opt_state = update(w, opt_state, grad(w))
    stepped = [rule(s, x, g) for s, x, g in zip(ref_state, ref_w, ref_g)]
    ref_state = [s for s, _ in stepped]
    ref_w = [np.asarray(x, dtype) for _, x in stepped]
    if teacher_forced:
      chex.assert_trees_all_close([np.asarray(x) for x in jax.tree.leaves(w)], ref_w, rtol=1e-6, atol=1e-7)
  return [np.asarray(x) for x in jax.tree.leaves(w)], ref_w


W0 = np.asarray([1.0, -2.0, 0.5, 3.0, -1.0])


@pytest.mark.parametrize("name", optimizers.names())
def test_each_float32_step_follows_the_notes_rule_on_a_quadratic(name):
  got, _ = run_both(name, quadratic, W0, np.float32, teacher_forced=True)
  assert quadratic(jnp.asarray(got[0])) < quadratic(jnp.asarray(W0, jnp.float32))


@pytest.mark.parametrize("name", optimizers.names())
def test_each_float32_step_follows_the_notes_rule_on_a_small_mlp(name):
  params = TinyMLP().init(jax.random.PRNGKey(0), X)["params"]
  got, _ = run_both(name, mlp_loss, params, np.float32, teacher_forced=True)
  assert mlp_loss(jax.tree.unflatten(jax.tree.structure(params), got)) < mlp_loss(params)


@pytest.mark.parametrize("name", optimizers.names())
def test_50_free_running_steps_agree_in_float64(name):
  """Free-running on the convex quadratic, the trajectories agree to 1e-6 relative in float64.

  In float32 each step rounds differently and the two drift apart by ~1 ulp per step, hence the
  teacher-forced float32 tests above. The MLP is checked teacher-forced here too: with RMSprop at
  this rate its trajectory is chaotic (a 1e-12 change of the initial weights moved the weights
  after 50 steps by 4e-6, measured), so free-running agreement there would measure the chaos.
  """
  with jax.enable_x64(True):
    got, want = run_both(name, quadratic, W0, np.float64, teacher_forced=False)
    chex.assert_trees_all_close(got, want, rtol=1e-6, atol=1e-12)
    params = jax.tree.map(lambda x: np.asarray(x, np.float64), TinyMLP().init(jax.random.PRNGKey(0), X)["params"])
    run_both(name, mlp_loss, params, np.float64, teacher_forced=True)


def test_notes_defaults():
  """momentum 0.9; RMSprop decay 0.9; eps 1e-8 outside the root; Adam 0.9/0.999/1e-8."""
  from jaxdl import args
  assert args.parameters(optimizers.get("momentum"))["momentum"][1] == 0.9
  assert args.parameters(optimizers.get("rmsprop"))["decay"][1] == 0.9
  assert args.parameters(optimizers.get("adagrad"))["eps"][1] == 1e-8
  assert {k: v[1] for k, v in args.parameters(optimizers.get("adam")).items()} == {"b1": 0.9, "b2": 0.999,
                                                                                 "eps": 1e-8}
  # AdaGrad's first step divides by |g| + eps exactly: the accumulator started at 0.
  tx = optim.create("adagrad", 1.0)
  g = jnp.asarray([3.0, -4.0])
  updates, _ = tx.update(g, tx.init(g))
  chex.assert_trees_all_close(updates, -g / (jnp.abs(g) + 1e-8))


def test_coupled_weight_decay_adds_wd_times_w_to_the_gradient():
  w, g = jnp.asarray([2.0, -1.0]), jnp.asarray([0.5, 0.5])
  tx = optim.create("sgd", 0.1, weight_decay=0.01)
  updates, _ = tx.update(g, tx.init(w), w)
  chex.assert_trees_all_close(updates, -0.1 * (g + 0.01 * w))


def test_clipping_bounds_the_global_norm():
  tx = optim.create("sgd", 1.0, clip_norm=1.0)
  g = {"a": jnp.full((3,), 10.0), "b": jnp.full((4,), -10.0)}
  updates, _ = tx.update(g, tx.init(g))
  norm = optax.global_norm(updates)
  np.testing.assert_allclose(float(norm), 1.0, rtol=1e-6)


def test_gradient_accumulation_equals_one_step_on_the_mean_gradient():
  w = jnp.asarray([1.0, 2.0])
  g1, g2 = jnp.asarray([1.0, -3.0]), jnp.asarray([3.0, 1.0])
  acc = optim.create("sgd", 0.1, accumulate_steps=2)
  state = acc.init(w)
  u1, state = acc.update(g1, state, w)
  u2, state = acc.update(g2, state, w)
  chex.assert_trees_all_close(u1, jnp.zeros(2))
  chex.assert_trees_all_close(u2, -0.1 * (g1 + g2) / 2)


def test_the_average_follows_the_parameters_tx_produces_and_leaves_the_updates_alone():
  w = np.array([1.0, -2.0])
  tx, avg = optim.create("momentum", 0.1), optim.averaged(optim.create("momentum", 0.1), 0.9)
  state, averaged_state, trajectory = tx.init(w), avg.init(w), []
  for g in np.array([[1.0, 0.5], [-2.0, 1.0], [0.5, 0.5]]):
    updates, state = tx.update(g, state, w)
    same, averaged_state = avg.update(g, averaged_state, w)
    chex.assert_trees_all_close(same, updates)
    w = np.asarray(optax.apply_updates(w, updates))
    trajectory.append(w)
  # the parameters after updates 1, 2, 3 weighted 0.9^2 : 0.9 : 1, normalized; the initial ones not at all
  weights = np.array([0.81, 0.9, 1.0]) / 2.71
  np.testing.assert_allclose(averaged_state.average, weights @ np.stack(trajectory), rtol=1e-6)
  with pytest.raises(UsageError, match="--ema_decay=1.0: an average needs a decay in"):
    optim.averaged(tx, 1.0)


@pytest.mark.parametrize("name,at,expected", [
    ("constant", [0, 50, 99], [1.0, 1.0, 1.0]),
    ("step", [0, 32, 33, 66, 99], [1.0, 1.0, 0.1, 0.01, 0.001]),
    ("exponential", [0, 100], [1.0, 0.01]),
    ("cosine", [0, 50, 100], [1.0, 0.5, 0.0]),
    ("cyclic_cosine", [0, 10, 19, 20, 30, 90], [1.0, 0.5, 0.5 * (1 + np.cos(np.pi * 19 / 20)), 1.0, 0.5, 0.5]),
])
def test_schedules(name, at, expected):
  fn = optim.schedule(name, 1.0, 100)
  np.testing.assert_allclose([float(fn(t)) for t in at], expected, rtol=1e-5, atol=1e-7)


def test_warmup_is_linear_then_the_schedule():
  fn = optim.schedule("cosine", 1.0, 110, warmup_steps=10)
  np.testing.assert_allclose([float(fn(t)) for t in (0, 5, 10, 60, 110)], [0.0, 0.5, 1.0, 0.5, 0.0], atol=1e-6)


def test_bad_names_and_arguments_are_usage_errors():
  with pytest.raises(UsageError, match="adam, adamw"):
    optim.create("lion", 0.1)
  with pytest.raises(UsageError, match="known keys: eps"):
    optim.optimizer_args("adagrad", "momentum=0.9")
  with pytest.raises(UsageError, match="--weight_decay"):
    optim.optimizer_args("adamw", "weight_decay=0.1")
  with pytest.raises(UsageError, match="--warmup_steps"):
    optim.schedule("cosine", 1.0, 10, warmup_steps=10)
