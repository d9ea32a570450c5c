"""Per-layer model summary: output shape, parameters and multiply-adds of every Conv, Dense and attention layer
(attention's own multiply-adds: Q K^T and the weighted sum of V), plus parameters that belong to no layer
(class tokens, position tables).

Traced with `jax.eval_shape` (no FLOPs spent), so it is instant even for VGG at 224x224.
"""

import dataclasses
from collections.abc import Callable

import flax.linen as nn
import jax
import numpy as np

from jaxdl.nn.attention import MultiHeadAttention
from jaxdl.nn.conv import conv_macs

_LAYERS = (nn.Conv, nn.Dense, nn.DenseGeneral, nn.BatchNorm, nn.LayerNorm, nn.GroupNorm, MultiHeadAttention)


@dataclasses.dataclass(frozen=True)
class Layer:
  path: str
  kind: str
  output_shape: tuple[int, ...]
  params: int
  macs: int


def _macs(module: nn.Module, x, y, kernel_size: int) -> int:
  """Multiply-adds for one example (the traced batch is 1; windows or heads on the batch axis count): Conv via
  the notes' formula, a dense kernel once per output position, attention 2 x queries x keys x heads x head_dim."""
  if isinstance(module, nn.Conv):
    *_, out_h, out_w, c_out = y.shape
    return conv_macs(x.shape[-1], c_out, module.kernel_size, out_h, out_w, module.feature_group_count)
  if isinstance(module, (nn.Dense, nn.DenseGeneral)):
    features = np.prod(module.features if isinstance(module, nn.DenseGeneral) else (module.features,))
    return int(y.size // features) * kernel_size
  if isinstance(module, MultiHeadAttention):
    windows, queries, width = y.shape
    keys = queries if len(x) < 2 or x[1] is None else x[1].shape[-2]
    inner = module.num_heads * (module.head_dim or x[0].shape[-1] // module.num_heads)
    return 2 * windows * queries * keys * inner
  return 0


def _subtree(params, path):
  """The parameters under a module's path; {} for a layer that has none (a LayerNorm without scale and bias)."""
  for name in path:
    params = params.get(name, {})
  return params


def layers(model: nn.Module, image_shape: tuple[int, ...], init: Callable | None = None) -> list[Layer]:
  """Every Conv / Dense / norm / attention layer that runs on one (1, *image_shape) input, in call order, then
  one row per module for parameters no layer holds. Parameters add up to the model's. `init(model, rng, x)`
  initializes a model that takes more than the images (a denoiser's step and label: its task's init)."""
  if getattr(model, "scan", False):  # one row per layer, not one for the scanned body with stacked parameters
    model = model.clone(scan=False)
  calls = []

  def record(next_fun, args, kwargs, context):
    out = next_fun(*args, **kwargs)
    if context.method_name == "__call__" and isinstance(context.module, _LAYERS):
      if isinstance(context.module, MultiHeadAttention):  # (output, cache); inputs (x, memory)
        out_array, inputs = out[0], (args[0], args[1] if len(args) > 1 else kwargs.get("memory"))
      else:
        out_array, inputs = out, args[0]
      calls.append((context.module, inputs, out_array))
    return out

  def traced_init(rng, x):
    with nn.intercept_methods(record):
      return model.init(rng, x) if init is None else init(model, rng, x)

  variables = jax.eval_shape(traced_init, jax.random.PRNGKey(0), jax.ShapeDtypeStruct((1, *image_shape), np.float32))
  params = variables["params"]
  out, owned = [], set()
  for module, x, y in calls:
    subtree = _subtree(params, module.path)
    attention = isinstance(module, MultiHeadAttention)  # its projections are rows of their own
    count = 0 if attention else sum(int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(subtree))
    kernel = 0 if attention or "kernel" not in subtree else int(np.prod(subtree["kernel"].shape))
    if not attention:
      owned.add(tuple(module.path))
    out.append(Layer("/".join(module.path), type(module).__name__, tuple(y.shape[1:]), count,
                     _macs(module, x, y, kernel)))
  leftovers: dict[tuple[str, ...], int] = {}
  for path, leaf in jax.tree_util.tree_leaves_with_path(params):
    names = tuple(k.key for k in path)
    if not any(names[:len(p)] == p for p in owned):
      leftovers[names[:-1]] = leftovers.get(names[:-1], 0) + int(np.prod(leaf.shape))
  out += [Layer("/".join(path) or "(model)", "params", (), count, 0) for path, count in leftovers.items()]
  return out


def format_table(rows: list[Layer], total_params: int) -> str:
  """A plain-text table with totals; total_params counts every parameter (the layers' sum must match)."""
  width = max([len(r.path) for r in rows] + [5])
  lines = [f"{'layer':<{width}}  {'kind':<18} {'output (per example)':<22} {'params':>13} {'mult-adds':>16}"]
  for r in rows:
    lines.append(f"{r.path:<{width}}  {r.kind:<18} {str(r.output_shape):<22} {r.params:>13,} {r.macs:>16,}")
  lines.append(f"{'total':<{width}}  {'':<18} {'':<22} {total_params:>13,} {sum(r.macs for r in rows):>16,}")
  return "\n".join(lines)
