"""Data, fsdp and tensor parallelism: 20 steps on 1 device and on 8 devices (jit over a Mesh: data, data x fsdp,
data x tensor; pmap) agree."""

import dataclasses

import jax
import numpy as np
import pytest

from jaxdl import parallel, registry
from jaxdl.config import Config
from jaxdl.data import pipeline
from jaxdl.errors import UsageError
from jaxdl.train import setup as setup_lib
from jaxdl.train import state as state_lib
from jaxdl.train.step import make_train_step

pytestmark = pytest.mark.parallel  # 8 fake devices, in their own process (tests/conftest.py)

CONFIG = Config(data="digits", data_args="image_size=8", model="mlp", model_args="depth=2,width=64", optim="momentum",
                lr=0.05, batch_size=64, steps=20)


BN_CONFIG = dataclasses.replace(CONFIG, model="resnet18", model_args="stem=small,width=4,stage_sizes=(1,1)")


def train_20_steps(strategy, config=CONFIG, with_losses=False):
  """The variables after 20 steps; `with_losses`: also each step's loss and the compiled step's memory analysis
  (per device)."""
  setup = setup_lib.build(config)
  # BatchNorm averages its statistics over pmap's axis; under jit the batch axis is already global.
  setup = dataclasses.replace(setup, task=setup_lib.build_task(config, setup.dataset.num_classes,
                                                               strategy.axis_name))
  sample = setup.dataset.splits["train"].read(np.arange(config.batch_size))
  state = strategy.init(lambda rng, batch: state_lib.create(setup.task, setup.tx, rng, batch),
                        jax.random.PRNGKey(0), sample)
  step = strategy.compile_train_step(make_train_step(setup.task, setup.tx, strategy.axis_name))
  batches = pipeline.train_batches(setup.dataset.splits["train"], config.batch_size, seed=0)
  first = strategy.put_batch(next(batches))
  if with_losses:
    step = step.lower(state, first).compile()
  losses = []
  for i in range(20):
    state, metrics = step(state, first if i == 0 else strategy.put_batch(next(batches)))
    losses.append(metrics["loss"])
  state = strategy.to_global(state)
  variables = jax.device_get({"params": state.params, **state.model_state})
  return (variables, np.asarray(jax.device_get(losses)), step.memory_analysis()) if with_losses else variables


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


@pytest.fixture(scope="session")
def gpt_config(tmp_path_factory):
  corpus = tmp_path_factory.mktemp("text") / "corpus.txt"
  words = np.random.default_rng(0).choice(["to", "be", "or", "not", "that", "is", "the", "question"], size=1500)
  corpus.write_text(" ".join(words))
  return Config(data=f"text:{corpus}", data_args="window=16", model="gpt", task="language_model",
                model_args="num_layers=2,num_heads=4,width=32,context=16", optim="adamw", lr=1e-2, batch_size=16,
                steps=20)


@pytest.fixture(scope="session")  # session: xdist may run other modules between the grouped tests
def one_device_gpt(gpt_config):
  return train_20_steps(parallel.JitParallel("data=1", devices=jax.devices()[:1]), gpt_config, with_losses=True)


@pytest.mark.xdist_group("one_device_gpt")
def test_gpt_follows_the_one_device_trajectory_on_data_fsdp_and_tensor_meshes(gpt_config, one_device_gpt):
  """Megatron-style tensor parallelism from GPT's rule table: heads and MLP units split over `tensor`; the loss of
  each of 20 AdamW steps equals one device's to 2e-5 on every mesh, and fsdp=4 holds a quarter of one device's
  state. 2e-5 is float32's floor here, not slack: the meshes sum in other orders (step 0 differs by 5e-7), and
  AdamW's normalized steps grow such differences; one device against itself with its initial parameters moved
  one ulp drifts 5e-6 in these 20 steps, data x fsdp 1.1e-5, data x tensor 1.5e-6 (2-core Xeon with AMX),
  while a learning rate 1% off moves the losses by 3.3e-3 (5e-4 after one step)."""
  _, one_losses, one_memory = one_device_gpt
  rules = registry.models.get("gpt").partition_rules
  memory = {}
  for mesh in ("data=2,fsdp=4", "data=2,tensor=4"):  # (data alone: test_eight_devices_equal_one)
    strategy = parallel.JitParallel(mesh, rules=rules)
    _, losses, memory[mesh] = train_20_steps(strategy, gpt_config, with_losses=True)
    np.testing.assert_allclose(losses, one_losses, rtol=0, atol=2e-5, err_msg=mesh)
  assert one_losses[-1] < one_losses[0] - 0.5  # it learned: the trajectories compared are not flat
  # The train step's arguments are the state (parameters, AdamW's moments) and a tiny batch, per device.
  ratio = memory["data=2,fsdp=4"].argument_size_in_bytes / one_memory.argument_size_in_bytes
  assert 0.24 < ratio < 0.3, ratio
  tensor_ratio = memory["data=2,tensor=4"].argument_size_in_bytes / one_memory.argument_size_in_bytes
  assert tensor_ratio < 0.4, tensor_ratio  # the blocks are split; the embeddings and LayerNorms are not


def test_tensor_rules_split_heads_and_mlp_units_and_leave_the_layer_axis_whole(gpt_config):
  rules = registry.models.get("gpt").partition_rules
  assert setup_lib.build(dataclasses.replace(gpt_config, mesh="data=2,tensor=4")).parallel.rules == rules
  sizes = {"data": 1, "fsdp": 2, "tensor": 4}
  spec = lambda path, shape: tuple(parallel.partition_spec(path, shape, sizes, rules))  # noqa: E731
  assert spec("params/blocks/layers/attention/query/kernel", (3, 64, 8, 16)) == (None, "fsdp", "tensor", None)
  assert spec("opt_state/0/mu/blocks/layers/attention/out/kernel", (3, 8, 16, 64)) == (None, "tensor", None, "fsdp")
  assert spec("params/blocks/layers/mlp/fc/kernel", (3, 64, 256)) == (None, "fsdp", "tensor")
  assert spec("params/blocks/layers/mlp/proj/kernel", (3, 256, 64)) == (None, "tensor", "fsdp")
  assert spec("params/token_embedding/embedding", (65, 64)) == (None, "fsdp")  # no rule: fsdp only
  with pytest.raises(UsageError, match="tensor=4 does not divide .*key/kernel's dimension of 2"):
    spec("params/blocks/layers/attention/key/kernel", (3, 64, 2, 16))  # two KV heads over four devices


@pytest.mark.parametrize("spec,message", [
    ("data=3", "does not cover the 8 devices"),
    ("model=8", "unknown axis 'model'"),
    ("data=-1,fsdp=-1", "at most one -1"),
    ("data=4,tensor=2", "this model declares none"),
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
