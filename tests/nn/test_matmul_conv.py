"""The matmul convolutions (`--conv_impl=im2col|mixed|matmul`) against `lax.conv_general_dilated`: values, both
gradients, under jit, vmap and forward-over-reverse, for every shape family the CNNs use; and the per-layer
rule of `--conv_impl=matmul`."""

import os
import re

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from jaxdl.nn import matmul_conv
from jaxdl.nn.layers import Conv

NHWC = ("NHWC", "HWIO", "NHWC")

# (input shape, kernel shape, strides, padding, dilation, groups): what the families use, and the edges.
CASES = {
    "3x3 s1 (ResNet)": ((2, 8, 8, 16), (3, 3, 16, 24), (1, 1), ((1, 1), (1, 1)), (1, 1), 1),
    "3x3 s2 (ResNet downsample)": ((2, 9, 9, 8), (3, 3, 8, 16), (2, 2), ((1, 1), (1, 1)), (1, 1), 1),
    "1x1 s1 (bottleneck)": ((2, 6, 6, 16), (1, 1, 16, 32), (1, 1), ((0, 0), (0, 0)), (1, 1), 1),
    "1x1 s2 (projection)": ((2, 8, 8, 16), (1, 1, 16, 32), (2, 2), ((0, 0), (0, 0)), (1, 1), 1),
    "5x5 VALID (LeNet)": ((2, 12, 12, 3), (5, 5, 3, 6), (1, 1), "VALID", (1, 1), 1),
    "7x7 s2 (ImageNet stem)": ((2, 16, 16, 3), (7, 7, 3, 8), (2, 2), ((3, 3), (3, 3)), (1, 1), 1),
    "11x11 s4 (AlexNet)": ((1, 31, 31, 3), (11, 11, 3, 8), (4, 4), ((2, 2), (2, 2)), (1, 1), 1),
    "3x3 SAME s2, odd size": ((2, 7, 7, 4), (3, 3, 4, 8), (2, 2), "SAME", (1, 1), 1),
    "asymmetric padding": ((2, 6, 7, 4), (3, 2, 4, 5), (1, 2), ((0, 2), (1, 0)), (1, 1), 1),
    "dilation 2": ((2, 10, 10, 4), (3, 3, 4, 6), (1, 1), ((2, 2), (2, 2)), (2, 2), 1),
    "groups 4 (ResNeXt)": ((2, 8, 8, 16), (3, 3, 4, 32), (1, 1), ((1, 1), (1, 1)), (1, 1), 4),
    "groups 4, stride 2": ((2, 8, 8, 16), (3, 3, 4, 16), (2, 2), ((1, 1), (1, 1)), (1, 1), 4),
    "depthwise 3x3": ((2, 8, 8, 12), (3, 3, 1, 12), (1, 1), ((1, 1), (1, 1)), (1, 1), 12),
    "depthwise x2 multiplier, s2": ((2, 8, 8, 6), (5, 5, 1, 12), (2, 2), ((2, 2), (2, 2)), (1, 1), 6),
}


def _rel(a, b):
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  return np.abs(a - b).max() / max(np.abs(b).max(), 1e-30)


def _normal(rng, shape, dtype=jnp.float32):
  """Drawn in NumPy: a jax.random draw of each new shape compiles a threefry kernel (about 1 s on 2 cores)."""
  return jnp.asarray(rng.standard_normal(shape), dtype)


def _pair(name, impl, dtype=jnp.float32):
  x_shape, w_shape, strides, padding, dilation, groups = CASES[name]
  rng = np.random.default_rng(0)
  x, w = _normal(rng, x_shape, dtype), _normal(rng, w_shape, dtype)
  conv = lambda x, w: lax.conv_general_dilated(x, w, strides, padding, rhs_dilation=dilation, dimension_numbers=NHWC,
                                               feature_group_count=groups)
  cotangent = _normal(rng, jax.eval_shape(conv, x, w).shape, dtype)

  def run(conv_general_dilated, x, w):
    y, pullback = jax.vjp(lambda x, w: conv_general_dilated(x, w, strides, padding, rhs_dilation=dilation,
                                                            dimension_numbers=NHWC, feature_group_count=groups), x, w)
    return (y, *pullback(cotangent))

  with matmul_conv.use(impl):
    mine = jax.jit(lambda x, w: run(matmul_conv.conv_general_dilated, x, w))(x, w)
  return mine, jax.jit(lambda x, w: run(lax.conv_general_dilated, x, w))(x, w)


# Mixed layers take lax's forward pass as is; these cases cover its geometries (strides, kernel sizes, string and
# asymmetric padding, dilation, groups) for the custom_jvp that joins it to im2col's weight gradient.
MIXED = ["3x3 s2 (ResNet downsample)", "5x5 VALID (LeNet)", "11x11 s4 (AlexNet)", "3x3 SAME s2, odd size",
         "asymmetric padding", "dilation 2", "groups 4, stride 2"]


# AlexNet's 11x11 stride-4 layer has 3 input channels, so `matmul` runs it mixed; its pure im2col (121 taps, the
# slowest graph here to compile) shares the code path of the 7x7 stride-2 case.
IM2COL = [name for name in CASES if name != "11x11 s4 (AlexNet)"]


@pytest.mark.parametrize("name,impl", [(name, "im2col") for name in IM2COL] + [(name, "mixed") for name in MIXED])
def test_values_and_both_gradients_equal_lax(name, impl):
  x_shape, w_shape, *_ = CASES[name]
  assert matmul_conv.covers(x_shape, w_shape, None, NHWC, 1)
  (y, dx, dw), (y_ref, dx_ref, dw_ref) = _pair(name, impl)
  assert y.shape == y_ref.shape and dx.shape == dx_ref.shape and dw.shape == dw_ref.shape
  for got, want, what in ((y, y_ref, "output"), (dx, dx_ref, "input gradient"), (dw, dw_ref, "weight gradient")):
    assert _rel(got, want) < 1e-5, f"{name}: {what} off by {_rel(got, want):.2e}"


@pytest.mark.parametrize("name", ["3x3 s2 (ResNet downsample)", "groups 4 (ResNeXt)", "dilation 2"])
def test_chunks_of_the_batch_give_the_same_values_and_gradients(name, monkeypatch):
  """Large batches run im2col chunk by chunk (`lax.map`, patches rebuilt in the backward pass)."""
  x_shape, w_shape, strides, *_ = CASES[name]
  monkeypatch.setattr(matmul_conv, "CHUNK_BYTES", 1)  # one example per chunk
  assert matmul_conv.chunk_size(x_shape[0], 1000) == 1
  for got, want in zip(*_pair(name, "im2col")):
    assert _rel(got, want) < 1e-5


def test_chunk_size_divides_the_batch_and_fits_the_cache_budget():
  budget = matmul_conv.CHUNK_BYTES
  assert matmul_conv.chunk_size(128, budget // 8) == 8
  assert matmul_conv.chunk_size(100, budget // 8) == 5  # the largest divisor of 100 that fits
  assert matmul_conv.chunk_size(7, budget * 2) == 1
  assert matmul_conv.chunk_size(3, 1) == 3


def _grad_fn(impl, strides, groups):
  def loss(x, w):
    with matmul_conv.use(impl):
      y = matmul_conv.conv_general_dilated(x, w, strides, ((1, 1), (1, 1)), dimension_numbers=NHWC,
                                           feature_group_count=groups)
    return jnp.sum(jnp.tanh(y) ** 2)
  return jax.grad(loss, argnums=(0, 1))


@pytest.mark.parametrize("impl", ["im2col", "mixed"])
def test_vmap_and_forward_over_reverse_equal_lax(impl):
  """Per-example gradients (vmap of grad) and Hessian-vector products (jvp of grad, along the input and along
  the weights) agree with lax; for mixed layers this goes through the custom_jvp's rule."""
  rng = np.random.default_rng(1)
  xs, w = _normal(rng, (3, 2, 8, 8, 4)), _normal(rng, (3, 3, 2, 6))
  grads = {impl: _grad_fn(impl, (2, 2), 2), "lax": _grad_fn("lax", (2, 2), 2)}
  per_example = {name: jax.jit(jax.vmap(fn, in_axes=(0, None)))(xs, w) for name, fn in grads.items()}
  for got, want in zip(per_example[impl], per_example["lax"]):
    assert _rel(got, want) < 1e-5
  along_input = (_normal(rng, xs.shape[1:]), jnp.zeros_like(w))
  along_weights = (jnp.zeros_like(xs[0]), w)  # through the rule's weight term (im2col's is plain JAX)
  for tangents in (along_input, along_weights) if impl == "mixed" else (along_input,):
    hvp = {name: jax.jit(lambda x, w, fn=fn: jax.jvp(fn, (x, w), tangents))(xs[0], w) for name, fn in grads.items()}
    for got, want in zip(jax.tree.leaves(hvp[impl]), jax.tree.leaves(hvp["lax"])):
      assert _rel(got, want) < 1e-5


def test_matmul_picks_each_layers_formulation_by_the_measured_rule():
  """im2col for float32 layers of 32+ channels, grouped and 1x1 layers; mixed for 16-bit layers and few input
  channels; lax for layers too small to repay im2col's compile time and 16-bit kernels under 4096 weights."""
  pick = matmul_conv.formulation
  assert pick((32, 32, 32, 64), (3, 3, 64, 64), (1, 1), 1, jnp.float32) == "im2col"
  assert pick((32, 32, 32, 64), (3, 3, 64, 64), (1, 1), 1, jnp.bfloat16) == "mixed"
  assert pick((128, 32, 32, 3), (3, 3, 3, 64), (1, 1), 1, jnp.float32) == "mixed"  # stem
  assert pick((32, 224, 224, 3), (11, 11, 3, 64), (4, 4), 1, jnp.float32) == "mixed"  # AlexNet
  assert pick((2, 8, 8, 64), (3, 3, 1, 64), (1, 1), 64, jnp.bfloat16) == "im2col"  # depthwise, however small
  assert pick((32, 32, 32, 64), (1, 1, 64, 128), (2, 2), 1, jnp.bfloat16) == "im2col"
  assert pick((512, 14, 14, 6), (5, 5, 6, 16), (1, 1), 1, jnp.bfloat16) == "lax"  # LeNet's: 2,400 weights
  assert pick((512, 14, 14, 6), (5, 5, 6, 16), (1, 1), 1, jnp.float32) == "mixed"
  assert pick((2, 8, 8, 16), (3, 3, 16, 24), (1, 1), 1, jnp.float32) == "lax"  # 0.2 M multiply-adds
  with matmul_conv.use("matmul"):
    jaxpr = str(jax.make_jaxpr(jax.grad(lambda x, w: jnp.sum(matmul_conv.conv_general_dilated(
        x, w, (1, 1), "SAME", dimension_numbers=NHWC)), argnums=1))(jnp.ones((64, 32, 32, 8)), jnp.ones((3, 3, 8, 64))))
  assert "conv_general_dilated" in jaxpr and "dot_general" in jaxpr  # mixed: lax forward, im2col weight gradient


def test_a_bfloat16_layer_run_mixed_has_the_values_of_lax():
  (y, dx, dw), (y_ref, dx_ref, dw_ref) = _pair("3x3 s1 (ResNet)", "mixed", dtype=jnp.bfloat16)
  np.testing.assert_array_equal(y, y_ref)  # the same lax convolution
  for got, want in ((dx, dx_ref), (dw, dw_ref)):
    assert got.dtype == jnp.bfloat16 and _rel(got, want) < 2e-2


def test_cases_it_does_not_cover_run_on_lax_with_the_same_result():
  """Transposed convolutions (input dilation) and channels-first layouts fall back to lax."""
  rng = np.random.default_rng(2)
  x, w = _normal(rng, (2, 4, 6, 6)), _normal(rng, (5, 4, 3, 3))
  nchw = ("NCHW", "OIHW", "NCHW")
  assert not matmul_conv.covers(x.shape, w.shape, None, nchw, 1)
  assert not matmul_conv.covers((2, 6, 6, 4), (3, 3, 4, 5), (2, 2), NHWC, 1)
  with matmul_conv.use("im2col"):
    got = matmul_conv.conv_general_dilated(x, w, (1, 1), ((1, 1), (1, 1)), lhs_dilation=(2, 2), dimension_numbers=nchw)
  want = lax.conv_general_dilated(x, w, (1, 1), ((1, 1), (1, 1)), lhs_dilation=(2, 2), dimension_numbers=nchw)
  np.testing.assert_array_equal(got, want)


def test_conv_module_keeps_flax_parameters_and_follows_the_choice():
  x = _normal(np.random.default_rng(4), (2, 8, 8, 3))
  mine, flax_conv = Conv(8, (3, 3), strides=2, padding=1), nn.Conv(8, (3, 3), strides=2, padding=1)
  params = mine.init(jax.random.PRNGKey(5), x)
  assert jax.tree.map(jnp.shape, params) == jax.tree.map(jnp.shape, flax_conv.init(jax.random.PRNGKey(5), x))
  outputs = {}
  for impl in ("im2col", "lax"):
    with matmul_conv.use(impl):
      outputs[impl] = jax.jit(mine.apply)(params, x)
  assert _rel(outputs["im2col"], flax_conv.apply(params, x)) < 1e-5
  np.testing.assert_array_equal(outputs["lax"], flax_conv.apply(params, x))


def test_choice_resolves_by_backend_and_rejects_unknown_names():
  assert matmul_conv.resolved("auto") == ("matmul" if jax.default_backend() == "cpu" else "lax")
  assert matmul_conv.resolved("lax") == "lax"
  assert matmul_conv.resolved("mixed") == "mixed"
  with pytest.raises(ValueError, match="choose one of: auto, lax, matmul, im2col, mixed"):
    matmul_conv.set_impl("cudnn")


def test_every_conv_in_models_and_nn_goes_through_the_one_place():
  root = os.path.join(os.path.dirname(__file__), "..", "..", "jaxdl")
  direct = re.compile(r"nn\.Conv\(|lax\.conv_general_dilated\(|lax\.conv\(|nn\.ConvTranspose\(")
  offenders = []
  for package in ("models", "nn"):
    for dirpath, _, files in os.walk(os.path.join(root, package)):
      for file in files:
        if file.endswith(".py") and file != "matmul_conv.py":
          with open(os.path.join(dirpath, file)) as f:
            offenders += [f"{file}: {line.strip()}" for line in f if direct.search(line)]
  assert not offenders, offenders
