"""Per-layer model summary: output shape, parameters and multiply-adds of every Conv and Dense layer.

Traced with `jax.eval_shape` (no FLOPs spent), so it is instant even for VGG at 224x224.
"""

import dataclasses

import flax.linen as nn
import jax
import numpy as np

from jaxdl.nn.conv import conv_macs


@dataclasses.dataclass(frozen=True)
class Layer:
  path: str
  kind: str
  output_shape: tuple[int, ...]
  params: int
  macs: int


def _macs(module: nn.Module, x, y) -> int:
  """Multiply-adds for one example: Conv via the notes' formula, Dense as in x out per position."""
  if isinstance(module, nn.Conv):
    *_, out_h, out_w, c_out = y.shape
    return conv_macs(x.shape[-1], c_out, module.kernel_size, out_h, out_w, module.feature_group_count)
  if isinstance(module, nn.Dense):
    return int(np.prod(y.shape[1:-1], dtype=np.int64)) * x.shape[-1] * y.shape[-1]
  return 0


def layers(model: nn.Module, image_shape: tuple[int, ...]) -> list[Layer]:
  """Every Conv / Dense / norm layer that runs on one (1, *image_shape) input, in call order."""
  calls = []

  def record(next_fun, args, kwargs, context):
    out = next_fun(*args, **kwargs)
    if context.method_name == "__call__" and isinstance(context.module, (nn.Conv, nn.Dense, nn.BatchNorm,
                                                                          nn.LayerNorm, nn.GroupNorm)):
      calls.append((context.module, args[0], out))
    return out

  def init(rng, x):
    with nn.intercept_methods(record):
      return model.init(rng, x)

  variables = jax.eval_shape(init, jax.random.PRNGKey(0), jax.ShapeDtypeStruct((1, *image_shape), np.float32))
  params = variables["params"]
  out = []
  for module, x, y in calls:
    subtree = params
    for name in module.path:
      subtree = subtree[name]
    count = sum(int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(subtree))
    out.append(Layer("/".join(module.path), type(module).__name__, tuple(y.shape[1:]), count, _macs(module, x, y)))
  return out


def format_table(rows: list[Layer], total_params: int) -> str:
  """A plain-text table with totals; total_params counts every parameter (the layers' sum must match)."""
  width = max([len(r.path) for r in rows] + [5])
  lines = [f"{'layer':<{width}}  {'kind':<10} {'output (per example)':<22} {'params':>13} {'mult-adds':>16}"]
  for r in rows:
    lines.append(f"{r.path:<{width}}  {r.kind:<10} {str(r.output_shape):<22} {r.params:>13,} {r.macs:>16,}")
  lines.append(f"{'total':<{width}}  {'':<10} {'':<22} {total_params:>13,} {sum(r.macs for r in rows):>16,}")
  return "\n".join(lines)
