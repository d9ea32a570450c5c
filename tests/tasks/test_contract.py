"""The task contract: the loop runs a task that owns its update (two parameter groups, two losses, two
optimizers, as a GAN will) through the one jitted step, and refuses a task that lacks a member."""

import dataclasses
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxdl.config import Config
from jaxdl.registry import tasks
from jaxdl.tasks import contract
from jaxdl.tasks.classify import Classify
from jaxdl.train import loop
from jaxdl.train.summary import params_fingerprint


class TwoHeads(nn.Module):
  num_classes: int = 10

  @nn.compact
  def __call__(self, x, train: bool = False):
    x = x.reshape(len(x), -1)
    return nn.Dense(self.num_classes, name="first")(x), nn.Dense(self.num_classes, name="second")(x)


@tasks.register("two_optimizers")
@dataclasses.dataclass(frozen=True)
class TwoOptimizers(Classify):
  """Head "first" learns by the flags' optimizer on its own loss; head "second" by plain SGD at 0.1 on its own.

  A test toy: it brings its own two-headed model (the registry's `--model` is not used).
  """

  heads = TwoHeads()

  def init(self, rng, batch):
    return dict(self.heads.init(rng, batch["image"]))

  def loss_fn(self, params, model_state, batch, rng):
    first, second = self.heads.apply({"params": params}, batch["image"])
    loss = self._per_example_loss(first, batch["label"]).mean()
    accuracy = (first.argmax(-1) == batch["label"]).mean()
    return loss, ({"loss": loss, "accuracy": accuracy,
                   "second_loss": self._per_example_loss(second, batch["label"]).mean()}, model_state)

  train_metrics = ("loss", "accuracy", "second_loss")

  def grad_fn(self, params, model_state, batch, rng):
    """Each head's gradient of its own loss only."""
    def head_loss(p, which):
      logits = self.heads.apply({"params": p}, batch["image"])[which]
      return self._per_example_loss(logits, batch["label"]).mean()
    g_first = jax.grad(head_loss)(params, 0)
    g_second = jax.grad(head_loss)(params, 1)
    grads = {"first": g_first["first"], "second": g_second["second"]}
    return grads, self.loss_fn(params, model_state, batch, rng)[1]

  def optimizer(self, tx):
    return optax.multi_transform({"first": tx, "second": optax.sgd(0.1)}, {"first": "first", "second": "second"})

  def eval_fn(self, params, model_state, batch):
    first, _ = self.heads.apply({"params": params}, batch["image"])
    return {"loss": self._per_example_loss(first, batch["label"]),
            "accuracy": (first.argmax(-1) == batch["label"]).astype(jnp.float32)}


def test_every_registered_task_follows_the_contract():
  for name in tasks.names():
    task = tasks.get(name)(model=TwoHeads(), num_classes=10)
    contract.check(task)
    assert isinstance(task, contract.Task)
    assert task.monitor_mode in ("max", "min") and "loss" in task.train_metrics
    assert math.isfinite(task.expected_initial_loss())


def test_a_task_missing_a_member_is_named():
  @dataclasses.dataclass(frozen=True)
  class NoEval:
    model = None
    train_metrics = ("loss",)
    monitor, monitor_mode = "loss", "min"

    def init(self, rng, batch): ...
    def loss_fn(self, params, model_state, batch, rng): ...
    def expected_initial_loss(self): ...

  with pytest.raises(TypeError, match="NoEval does not follow jaxdl.tasks.contract.Task: missing eval_fn"):
    contract.check(NoEval())


def test_a_task_that_owns_its_update_trains_both_groups_with_their_optimizers(tmp_path):
  """SGD at 0.1 on head "second" is checked against the update computed by hand from the first batch."""
  config = Config(data="digits", data_args="image_size=8", model="linear", task="two_optimizers", lr=1e-3,
                  batch_size=64, steps=1, log_every=1, eval_every=0)
  result = loop.train_and_evaluate(config, str(tmp_path / "a"))
  setup, trained_state, _ = loop.restore_checkpoint(config, str(tmp_path / "a"))
  initial = jax.device_get(loop.init_state(setup, config)[0].params)
  trained = jax.device_get(trained_state.params)
  assert params_fingerprint(trained) == result["params_fingerprint"]
  train = setup.dataset.splits["train"]
  batch = train.read(np.random.default_rng([config.seed, 0]).permutation(len(train))[:64])  # step 1's batch
  grads, _ = setup.task.grad_fn(initial, {}, batch, None)
  np.testing.assert_allclose(trained["second"]["kernel"], initial["second"]["kernel"] - 0.1 * grads["second"]["kernel"],
                             rtol=1e-5, atol=1e-6)
  # Adam's first step moves every weight by about lr: a different rule from the other head's.
  np.testing.assert_allclose(np.abs(trained["first"]["bias"] - initial["first"]["bias"]), 1e-3, rtol=1e-2)
