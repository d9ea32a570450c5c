"""Device meshes and the two parallel paths: `jax.jit` over a Mesh (default) and classic `pmap`.

Both expose the same small interface to the loop: put_state / put_batch / compile / to_host,
so the loop never branches on the parallel mode. Under jit, the batch is split over the data and fsdp axes, fsdp
also splits every large parameter, and the tensor axis splits the parameters a model's rule table names
(`partition_rules`, Megatron-style), leaving the rest of the layout to XLA's sharding propagation.
"""

import re

import jax
import numpy as np
from flax import jax_utils
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jaxdl.errors import UsageError

AXES = ("data", "fsdp", "tensor")
BATCH_AXES = ("data", "fsdp")  # the batch is split over both; fsdp also splits the parameters


def parse_mesh(spec: str, num_devices: int) -> dict[str, int]:
  """`data=-1,fsdp=2` -> {"data": n/2, "fsdp": 2, "tensor": 1}; one axis may be -1 (the rest)."""
  sizes = dict.fromkeys(AXES, 1)
  for item in filter(None, (s.strip() for s in spec.split(","))):
    name, _, value = item.partition("=")
    if name not in AXES:
      raise UsageError(f"--mesh: unknown axis {name!r}; axes are {', '.join(AXES)}")
    try:
      sizes[name] = int(value)
    except ValueError:
      raise UsageError(f"--mesh: axis {name} needs an integer size, got {value!r}") from None
  free = [name for name, size in sizes.items() if size == -1]
  fixed = int(np.prod([size for size in sizes.values() if size != -1]))
  if len(free) > 1 or any(size == 0 or size < -1 for size in sizes.values()):
    raise UsageError(f"--mesh={spec}: sizes must be positive, with at most one -1")
  if free:
    sizes[free[0]] = num_devices // fixed if num_devices % fixed == 0 else 0
  if int(np.prod(list(sizes.values()))) != num_devices:
    raise UsageError(f"--mesh={spec} does not cover the {num_devices} devices")
  return sizes


def _tensor_axes(path: str, shape: tuple[int, ...], rules, tensor: int) -> list:
  """The first rule matching `path` names the mesh axes of the array's trailing dimensions (leading ones, such
  as nn.scan's layer axis, stay whole); no rule: nothing is split."""
  for pattern, axes in rules:
    if re.search(pattern, path):
      spec = [None] * (len(shape) - len(axes)) + list(axes)
      for size, axis in zip(shape, spec):
        if axis == "tensor" and size % tensor:
          raise UsageError(f"--mesh: tensor={tensor} does not divide {path}'s dimension of {size} (heads or hidden "
                           "units); choose a tensor size that divides it")
      return spec
  return [None] * len(shape)


def partition_spec(path: str, shape: tuple[int, ...], sizes: dict[str, int], rules=()) -> P:
  """A state leaf's sharding: the tensor axes from `rules`, then fsdp on the largest remaining dimension it
  divides; small or indivisible arrays stay replicated."""
  spec = _tensor_axes(path, shape, rules, sizes["tensor"]) if sizes["tensor"] > 1 else [None] * len(shape)
  if sizes["fsdp"] > 1:
    free = [axis for axis, size in enumerate(shape) if spec[axis] is None and size % sizes["fsdp"] == 0]
    if free:
      spec[max(free, key=lambda axis: shape[axis])] = "fsdp"
  return P(*spec)


class JitParallel:
  """`jax.jit` with a ("data", "fsdp", "tensor") Mesh: batch split over data x fsdp, parameters over fsdp and, by
  the model's `rules` ((path regex, trailing axes), ...), over tensor."""

  axis_name = None

  def __init__(self, mesh_spec: str, devices=None, rules=()):
    devices = list(devices if devices is not None else jax.devices())
    self.sizes = parse_mesh(mesh_spec, len(devices))
    if self.sizes["tensor"] > 1 and not rules:
      raise UsageError("--mesh: tensor > 1 splits the layers a model declares in its partition_rules, and this "
                       "model declares none (the Transformer families do); use the data and fsdp axes")
    self.rules = tuple(rules)
    self.mesh = Mesh(np.asarray(devices).reshape([self.sizes[a] for a in AXES]), AXES)
    self.num_replicas = self.sizes["data"] * self.sizes["fsdp"]
    self._batch = NamedSharding(self.mesh, P(BATCH_AXES))

  def state_shardings(self, abstract_state):
    def sharding(path, x):
      name = jax.tree_util.keystr(path, simple=True, separator="/")
      return NamedSharding(self.mesh, partition_spec(name, x.shape, self.sizes, self.rules))
    return jax.tree_util.tree_map_with_path(sharding, abstract_state)

  def init(self, init_fn, *args):
    shardings = self.state_shardings(jax.eval_shape(init_fn, *args))
    return jax.jit(init_fn, out_shardings=shardings)(*args)

  def abstract_init(self, init_fn, *args):
    """Shapes, dtypes and shardings of the global state `init(init_fn, *args)` would return, computing nothing
    (what a checkpoint restores into)."""
    shapes = jax.eval_shape(init_fn, *args)
    return jax.tree.map(lambda x, sharding: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding), shapes,
                        self.state_shardings(shapes))

  def put_state(self, state):
    return jax.device_put(state, self.state_shardings(state))

  def put_batch(self, batch):
    """This host's rows of the global batch onto its devices."""
    if jax.process_count() == 1:  # device_put: ~185 us per LeNet batch vs ~845 us for the multi-host call
      return jax.device_put(batch, self._batch)
    return jax.tree.map(lambda x: jax.make_array_from_process_local_data(self._batch, x), batch)

  def compile_train_step(self, step_fn):
    return jax.jit(step_fn, donate_argnums=0)

  def compile_eval_step(self, eval_fn):
    return jax.jit(eval_fn)

  def to_host(self, tree):
    """NumPy copies of global arrays; in a multi-host run every process gathers the shards others hold."""
    if jax.process_count() == 1:
      return jax.device_get(tree)
    return multihost_utils.process_allgather(tree, tiled=True)

  def to_global(self, tree):
    """The single logical copy of a state (the identity here; unreplicates under pmap)."""
    return tree


class PmapParallel:
  """`jax.pmap` over the local devices, gradients averaged with `lax.pmean` over axis "batch"."""

  axis_name = "batch"

  def __init__(self, mesh_spec: str = "", devices=None, rules=()):
    del mesh_spec, rules  # pmap replicates the whole state on every local device
    self.devices = list(devices if devices is not None else jax.local_devices())
    self.num_replicas = len(self.devices)
    self._stacked = NamedSharding(Mesh(np.asarray(self.devices), (self.axis_name,)), P(self.axis_name))

  def init(self, init_fn, *args):
    return self.put_state(jax.jit(init_fn)(*args))

  def abstract_init(self, init_fn, *args):
    """The global (unreplicated) state's shapes and dtypes on the first device, computing nothing."""
    return abstract_on_device(self.devices[0], init_fn, *args)

  def put_state(self, state):
    return jax_utils.replicate(state, self.devices)

  def put_batch(self, batch):
    n = len(self.devices)  # (B, ...) -> (devices, B / devices, ...)
    return jax.tree.map(lambda x: jax.device_put(x.reshape(n, -1, *x.shape[1:]), self._stacked), batch)

  def compile_train_step(self, step_fn):
    return jax.pmap(step_fn, axis_name=self.axis_name, donate_argnums=0, devices=self.devices)

  def compile_eval_step(self, eval_fn):
    return jax.pmap(eval_fn, axis_name=self.axis_name, devices=self.devices)

  def to_host(self, tree):
    return jax.device_get(tree)

  def to_global(self, tree):
    return jax_utils.unreplicate(tree)


def abstract_on_device(device, init_fn, *args):
  """Shapes and dtypes of what `init_fn(*args)` returns, placed on one `device`, computing nothing (what a
  checkpoint restores into when it is read whole on one device)."""
  sharding = jax.sharding.SingleDeviceSharding(device)
  return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding),
                      jax.eval_shape(init_fn, *args))


MODES = {"jit": JitParallel, "pmap": PmapParallel}


def create(mode: str, mesh_spec: str, batch_size: int, rules=()):
  """The parallel path for `--parallel_mode`, checking that the batch splits evenly over replicas; `rules` are
  the model's tensor-parallel partitioning (see JitParallel)."""
  if mode not in MODES:
    raise UsageError(f"--parallel_mode={mode}; choose one of: {', '.join(MODES)}")
  parallel = MODES[mode](mesh_spec, rules=rules)
  if batch_size % parallel.num_replicas or batch_size % jax.process_count():
    raise UsageError(f"--batch_size={batch_size} must be divisible by the {parallel.num_replicas} data-parallel "
                     "devices")
  return parallel
