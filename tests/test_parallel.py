"""Data parallelism: 20 steps on 1 device, 8 devices (jit over a Mesh), data x fsdp, and pmap agree."""

import dataclasses

import jax
import numpy as np
import pytest

from jaxdl import parallel
from jaxdl.config import Config
from jaxdl.data import pipeline
from jaxdl.errors import UsageError
from jaxdl.train import setup as setup_lib
from jaxdl.train import state as state_lib
from jaxdl.train.step import make_train_step

CONFIG = Config(data="digits", data_args="image_size=8", model="mlp", model_args="depth=2,width=64", optim="momentum",
                lr=0.05, batch_size=64, steps=20)


BN_CONFIG = dataclasses.replace(CONFIG, model="resnet18", model_args="stem=small,width=4,stage_sizes=(1,1)")


def train_20_steps(strategy, config=CONFIG):
  setup = setup_lib.build(config)
  # BatchNorm averages its statistics over pmap's axis; under jit the batch axis is already global.
  setup = dataclasses.replace(setup, task=setup_lib.build_task(config, 10, strategy.axis_name))
  sample = setup.dataset.splits["train"].read(np.arange(config.batch_size))
  state = strategy.init(lambda rng, batch: state_lib.create(setup.task, setup.tx, rng, batch),
                        jax.random.PRNGKey(0), sample)
  step = strategy.compile_train_step(make_train_step(setup.task, setup.tx, strategy.axis_name))
  batches = pipeline.train_batches(setup.dataset.splits["train"], config.batch_size, seed=0)
  for _ in range(20):
    state, _ = step(state, strategy.put_batch(next(batches)))
  state = strategy.to_global(state)
  return jax.device_get({"params": state.params, **state.model_state})


@pytest.fixture(scope="session")  # session: xdist may run other modules between the grouped tests
def one_device():
  return train_20_steps(parallel.JitParallel("data=1", devices=jax.devices()[:1]))


@pytest.mark.xdist_group("one_device")
@pytest.mark.parametrize("make", [
    lambda: parallel.JitParallel("data=-1"),
    lambda: parallel.JitParallel("data=4,fsdp=2"),
    lambda: parallel.PmapParallel(),
], ids=["jit-8-data", "jit-4-data-2-fsdp", "pmap-8"])
def test_eight_devices_equal_one(one_device, make):
  assert jax.device_count() == 8
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5), train_20_steps(make()), one_device)


@pytest.fixture(scope="session")  # session: xdist may run other modules between the grouped tests
def one_device_bn():
  return train_20_steps(parallel.JitParallel("data=1", devices=jax.devices()[:1]), BN_CONFIG)


@pytest.mark.xdist_group("one_device_bn")  # one worker trains the 1-device baseline once
@pytest.mark.parametrize("make", [lambda: parallel.JitParallel("data=-1"), lambda: parallel.PmapParallel()],
                         ids=["jit-8", "pmap-8"])
def test_batch_norm_on_eight_devices_equals_one_large_batch(one_device_bn, make):
  """Parameters and running statistics of a BatchNorm ResNet after 20 steps: 8 devices == 1 device."""
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5), train_20_steps(make(), BN_CONFIG),
               one_device_bn)


def test_fsdp_shards_parameters_and_data_axis_shards_the_batch():
  strategy = parallel.JitParallel("data=4,fsdp=2")
  kernel = jax.ShapeDtypeStruct((64, 256), np.float32)
  spec = strategy.state_shardings({"k": kernel})["k"].spec
  assert tuple(spec) == (None, "fsdp")  # the larger axis is split
  batch = strategy.put_batch({"image": np.zeros((64, 8, 8, 1), np.float32)})
  assert len(batch["image"].sharding.device_set) == 8
  assert batch["image"].addressable_shards[0].data.shape == (8, 8, 8, 1)


@pytest.mark.parametrize("spec,message", [
    ("data=3", "does not cover the 8 devices"),
    ("model=8", "unknown axis 'model'"),
    ("data=-1,fsdp=-1", "at most one -1"),
    ("data=4,tensor=2", "tensor > 1 needs tensor-parallel"),
    ("data=x", "needs an integer"),
])
def test_bad_meshes(spec, message):
  with pytest.raises(UsageError, match=message):
    parallel.JitParallel(spec)


def test_batch_must_split_evenly():
  with pytest.raises(UsageError, match="--batch_size=60 must be divisible by the 8"):
    parallel.create("jit", "data=-1", 60)
  with pytest.raises(UsageError, match="choose one of: jit, pmap"):
    parallel.create("xmap", "", 64)
