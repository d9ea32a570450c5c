"""Convolution as matrix products, the fast formulation on XLA's CPU backend (`--conv_impl`).

XLA:CPU runs `lax.conv_general_dilated`'s weight gradient (a convolution whose "kernel" is the whole
image) on a slow path: eleven times the input gradient on a ResNet conv. Written as strided slices of
the padded input joined into patches (im2col) and one matrix product, the forward pass and both
gradients become matrix products XLA runs well, and the function stays ordinary differentiable JAX
(`jvp`, `vmap`, second derivatives), which the analysis chapters need. GPUs and TPUs keep `lax`:
cuDNN and the TPU compiler already win there.

The choice is process-wide and read when a function is traced (like a default dtype): set it once,
before jitting, with `set_impl` or `--conv_impl`; `auto` is `matmul` on CPU and `lax` elsewhere.
"""

import contextlib
import itertools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

IMPLS = ("auto", "lax", "matmul")
_impl = "auto"


def set_impl(name: str) -> None:
  """Chooses the convolution of every `jaxdl.nn.layers.Conv` traced from now on."""
  global _impl
  if name not in IMPLS:
    raise ValueError(f"conv_impl={name!r}; choose one of: {', '.join(IMPLS)}")
  _impl = name


@contextlib.contextmanager
def use(name: str):
  """`with use("lax"): ...` traces the block's convolutions with `name`, then restores the choice."""
  previous = _impl
  set_impl(name)
  try:
    yield
  finally:
    set_impl(previous)


def resolved(name: str | None = None) -> str:
  """`lax` or `matmul`: what `name` (default: the process's choice) means on the default backend."""
  name = _impl if name is None else name
  if name == "auto":
    return "matmul" if jax.default_backend() == "cpu" else "lax"
  return name


def covers(lhs_shape: Sequence[int], rhs_shape: Sequence[int], lhs_dilation, dimension_numbers,
           batch_group_count: int) -> bool:
  """Whether the matmul formulation handles this convolution: channels-last layouts (flax's), no input
  dilation (transposed convolutions) and no batch groups. Anything else runs on `lax`, with the same result."""
  if dimension_numbers is None or batch_group_count != 1 or any(d != 1 for d in (lhs_dilation or ())):
    return False
  dn = lax.conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers)
  n = len(lhs_shape)
  channels_last = (0, n - 1) + tuple(range(1, n - 1))
  return dn.lhs_spec == channels_last and dn.out_spec == channels_last and \
      dn.rhs_spec == (n - 1, n - 2) + tuple(range(n - 2))


def _taps(x, kernel_size, strides, padding, dilation):
  """One strided slice of the padded input per kernel position: tap k holds the inputs that kernel
  position k multiplies for every output position."""
  spatial = x.shape[1:-1]
  effective = [(k - 1) * d + 1 for k, d in zip(kernel_size, dilation)]
  if isinstance(padding, str):
    padding = lax.padtype_to_pads(spatial, effective, strides, padding)
  x = lax.pad(x, jnp.zeros((), x.dtype), [(0, 0, 0), *((lo, hi, 0) for lo, hi in padding), (0, 0, 0)])
  out = [(n - e) // s + 1 for n, e, s in zip(x.shape[1:-1], effective, strides)]
  taps = []
  for position in itertools.product(*map(range, kernel_size)):
    start = [p * d for p, d in zip(position, dilation)]
    limit = [b + (o - 1) * s + 1 for b, o, s in zip(start, out, strides)]
    taps.append(lax.slice(x, (0, *start, 0), (x.shape[0], *limit, x.shape[-1]), (1, *strides, 1)))
  return taps


def im2col(x, kernel, strides, padding, dilation, groups: int = 1, precision=None, preferred_element_type=None):
  """Channels-last convolution (x: (N, *spatial, C), kernel: (*window, C // groups, O)) as im2col + one
  matrix product, accumulated in at least float32."""
  kernel_size, (cg, features) = kernel.shape[:-2], kernel.shape[-2:]
  taps = _taps(x, kernel_size, strides, padding, dilation)
  out_type = preferred_element_type or jnp.result_type(x, kernel)
  accumulate = jnp.promote_types(out_type, jnp.float32)
  if groups == 1:
    patches = taps[0] if len(taps) == 1 else jnp.concatenate(taps, axis=-1)  # (N, *out, K * C)
    y = jnp.einsum("...k,ko->...o", patches, kernel.reshape(-1, features), precision=precision,
                   preferred_element_type=accumulate)
    return y.astype(out_type)
  patches = jnp.stack(taps, axis=-2).reshape(*taps[0].shape[:-1], len(taps), groups, cg)
  grouped = kernel.reshape(len(taps), cg, groups, features // groups)
  y = jnp.einsum("...kgc,kcgo->...go", patches, grouped, precision=precision, preferred_element_type=accumulate)
  return y.reshape(*y.shape[:-2], features).astype(out_type)


# Patches of this many bytes per chunk of the batch stay in the CPU's caches between the copy that builds them and
# the matrix product that reads them; one im2col over a whole batch of 32x32x64 would write and re-read 300 MB.
CHUNK_BYTES = 4 << 20


def chunk_size(batch: int, patch_bytes_per_example: int) -> int:
  """The largest divisor of `batch` whose patches fit in CHUNK_BYTES (at least 1)."""
  fits = max(1, CHUNK_BYTES // max(patch_bytes_per_example, 1))
  return max(d for d in range(1, min(batch, fits) + 1) if batch % d == 0)


def conv(x, kernel, strides, padding, dilation, groups: int = 1, precision=None, preferred_element_type=None):
  """im2col over chunks of the batch (`lax.map`; each chunk's patches rebuilt in the backward pass rather than
  kept), so patches never leave the caches. A batch whose patches fit runs as one chunk."""
  # Output positions estimated as ceil(size / stride): enough to size a chunk, whatever the padding.
  batch, out_positions = x.shape[0], np.prod([-(-n // s) for n, s in zip(x.shape[1:-1], strides)])
  taps = int(np.prod(kernel.shape[:-2]))
  chunk = chunk_size(batch, int(out_positions) * taps * x.shape[-1] * x.dtype.itemsize) if taps > 1 else batch
  one = lambda xs: im2col(xs, kernel, strides, padding, dilation, groups, precision, preferred_element_type)
  if chunk == batch:
    return one(x)
  ys = lax.map(jax.checkpoint(one), x.reshape(batch // chunk, chunk, *x.shape[1:]))
  return ys.reshape(batch, *ys.shape[2:])


def conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=None, rhs_dilation=None,
                         dimension_numbers=None, feature_group_count=1, batch_group_count=1, precision=None,
                         preferred_element_type=None):
  """`lax.conv_general_dilated`'s signature (flax.linen.Conv's `conv_general_dilated` field), running the
  process's `--conv_impl`."""
  if resolved() == "matmul" and covers(lhs.shape, rhs.shape, lhs_dilation, dimension_numbers, batch_group_count):
    spatial = lhs.ndim - 2
    return conv(lhs, rhs, tuple(window_strides), padding, tuple(rhs_dilation or (1,) * spatial),
                feature_group_count, precision, preferred_element_type)
  return lax.conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation, dimension_numbers,
                                  feature_group_count, batch_group_count, precision, preferred_element_type)
