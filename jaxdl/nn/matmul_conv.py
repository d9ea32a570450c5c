"""Convolution as matrix products, the fast formulation on XLA's CPU backend (`--conv_impl`).

XLA:CPU runs `lax.conv_general_dilated`'s weight gradient (a convolution whose "kernel" is the whole
image) on a slow path: eleven times the input gradient on a ResNet conv. Written as strided slices of
the padded input joined into patches (im2col) and one matrix product, the forward pass and both
gradients become matrix products XLA runs well, and the function stays ordinary differentiable JAX
(`jvp`, `vmap`, second derivatives), which the analysis chapters need. GPUs and TPUs keep `lax`:
cuDNN and the TPU compiler already win there.

im2col does not win everywhere, so `matmul` picks per layer (`formulation`): im2col, `mixed` (lax's
forward pass and input gradient, im2col's weight gradient) or, for layers too small to repay im2col's
larger compiled graph, lax.

The choice is process-wide and read when a function is traced (like a default dtype): set it once,
before jitting, with `set_impl` or `--conv_impl`; `auto` is `matmul` on CPU and `lax` elsewhere.
"""

import contextlib
import functools
import itertools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

# auto: matmul on CPU, lax elsewhere; matmul: each layer's formulation picked by `formulation`; im2col and
# mixed: that formulation for every layer it covers (for measuring and testing them).
IMPLS = ("auto", "lax", "matmul", "im2col", "mixed")
_impl = "auto"


def set_impl(name: str) -> None:
  """Chooses the convolution of every `jaxdl.nn.layers.Conv` traced from now on."""
  global _impl
  if name not in IMPLS:
    raise ValueError(f"conv_impl={name}; choose one of: {', '.join(IMPLS)}")
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
  """What `name` (default: the process's choice) means on the default backend: `auto` becomes `matmul` or `lax`."""
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


def _output_positions(x_shape: Sequence[int], strides: Sequence[int]) -> int:
  """Output positions per example, estimated as ceil(size / stride) whatever the padding: enough to size a chunk
  or a layer's work."""
  return int(np.prod([-(-n // s) for n, s in zip(x_shape[1:-1], strides)]))


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
  batch, taps = x.shape[0], int(np.prod(kernel.shape[:-2]))
  chunk = chunk_size(batch, _output_positions(x.shape, strides) * taps * x.shape[-1] * x.dtype.itemsize) \
      if taps > 1 else batch
  one = lambda xs: im2col(xs, kernel, strides, padding, dilation, groups, precision, preferred_element_type)
  if chunk == batch:
    return one(x)
  ys = lax.map(jax.checkpoint(one), x.reshape(batch // chunk, chunk, *x.shape[1:]))
  return ys.reshape(batch, *ys.shape[2:])


# Below this many multiply-adds per call (4 M) a layer takes well under a millisecond in any formulation on 2
# cores, while im2col's graph (a pad, one slice per kernel position, a concatenation) compiles 0.2-0.3 s slower.
# Not higher: FractalNet on 8x8 digits (layers of 10-40 M) trains at half the speed on lax.
SMALL_MACS = 1 << 22


def formulation(x_shape: Sequence[int], kernel_shape: Sequence[int], strides: Sequence[int], groups: int,
                dtype) -> str:
  """How `--conv_impl=matmul` runs one layer, from the timings of forward + both gradients in
  `bench/conv_ops.py` (2-core x86 CPU, 3x3 kernels, batch 8-128, 4x4-32x32 inputs, 16-256 channels):
  im2col wins for float32 layers of 32 or more input channels (up to 4x at 32x32x64), for grouped and
  depthwise layers of any size (lax's grouped weight gradient is hundreds of times slower) and for 1x1 layers
  (a plain matrix product, compiled faster than lax's); `mixed` wins for bfloat16/float16 layers (XLA's 16-bit
  convolution beats a 16-bit patch matrix product; its weight gradient does not, except for kernels under 4096
  weights: LeNet's, 3-channel stems) and for few input channels (the patch matrix product is too thin, and
  col2im of AlexNet's 121 strided taps costs 3.6x lax's input gradient)."""
  taps, channels, features = int(np.prod(kernel_shape[:-2])), kernel_shape[-2], kernel_shape[-1]
  outputs = x_shape[0] * _output_positions(x_shape, strides)
  if groups > 1 or taps == 1:
    return "im2col"
  if outputs * taps * channels * features < SMALL_MACS:
    return "lax"
  if jnp.finfo(dtype).bits < 32:
    return "lax" if taps * channels * features < 1 << 12 else "mixed"
  return "mixed" if channels < 32 else "im2col"


def mixed(forward, weight_tangent):
  """`forward(x, kernel)` for the value and, by its transpose, the input gradient; `weight_tangent(x, t)` (the
  same convolution in another formulation) for the weight gradient. A `custom_jvp` whose rule is itself
  differentiable JAX, so `grad`, `jvp` of `grad` and `vmap` all work."""

  @jax.custom_jvp
  def f(x, kernel):
    return forward(x, kernel)

  def f_jvp(primals, tangents):
    (x, kernel), (x_dot, kernel_dot) = primals, tangents
    terms = []
    if not isinstance(x_dot, jax.custom_derivatives.SymbolicZero):
      terms.append(forward(x_dot, kernel))
    if not isinstance(kernel_dot, jax.custom_derivatives.SymbolicZero):
      terms.append(weight_tangent(x, kernel_dot))
    return f(x, kernel), functools.reduce(jnp.add, terms)

  f.defjvp(f_jvp, symbolic_zeros=True)
  return f


def conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=None, rhs_dilation=None,
                         dimension_numbers=None, feature_group_count=1, batch_group_count=1, precision=None,
                         preferred_element_type=None):
  """`lax.conv_general_dilated`'s signature (flax.linen.Conv's `conv_general_dilated` field), running the
  process's `--conv_impl`."""
  by_lax = lambda x, kernel: lax.conv_general_dilated(x, kernel, window_strides, padding, lhs_dilation, rhs_dilation,
                                                      dimension_numbers, feature_group_count, batch_group_count,
                                                      precision, preferred_element_type)
  impl = resolved()
  if impl == "lax" or not covers(lhs.shape, rhs.shape, lhs_dilation, dimension_numbers, batch_group_count):
    return by_lax(lhs, rhs)
  dilation = tuple(rhs_dilation or (1,) * (lhs.ndim - 2))
  by_im2col = lambda x, kernel: conv(x, kernel, tuple(window_strides), padding, dilation, feature_group_count,
                                     precision, preferred_element_type)
  if impl == "matmul":
    impl = formulation(lhs.shape, rhs.shape, window_strides, feature_group_count, jnp.result_type(lhs, rhs))
  if impl == "mixed":
    return mixed(by_lax, by_im2col)(lhs, rhs)
  return by_im2col(lhs, rhs) if impl == "im2col" else by_lax(lhs, rhs)
