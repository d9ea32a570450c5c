"""The matmul convolution (`--conv_impl=matmul`) against `lax.conv_general_dilated`: values, both gradients,
under jit, vmap and forward-over-reverse, for every shape family the CNNs use."""

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


def _pair(name, seed=0):
  x_shape, w_shape, strides, padding, dilation, groups = CASES[name]
  kx, kw, kc = jax.random.split(jax.random.PRNGKey(seed), 3)
  x, w = jax.random.normal(kx, x_shape), jax.random.normal(kw, w_shape)

  def run(conv_general_dilated, x, w):
    conv = lambda x, w: conv_general_dilated(x, w, strides, padding, rhs_dilation=dilation, dimension_numbers=NHWC,
                                             feature_group_count=groups)
    y, pullback = jax.vjp(conv, x, w)
    return (y, *pullback(jax.random.normal(kc, y.shape)))

  with matmul_conv.use("matmul"):
    mine = jax.jit(lambda x, w: run(matmul_conv.conv_general_dilated, x, w))(x, w)
  return mine, jax.jit(lambda x, w: run(lax.conv_general_dilated, x, w))(x, w)


@pytest.mark.parametrize("name", list(CASES))
def test_values_and_both_gradients_equal_lax(name):
  x_shape, w_shape, *_ = CASES[name]
  assert matmul_conv.covers(x_shape, w_shape, None, NHWC, 1)
  (y, dx, dw), (y_ref, dx_ref, dw_ref) = _pair(name)
  assert y.shape == y_ref.shape and dx.shape == dx_ref.shape and dw.shape == dw_ref.shape
  for got, want, what in ((y, y_ref, "output"), (dx, dx_ref, "input gradient"), (dw, dw_ref, "weight gradient")):
    assert _rel(got, want) < 1e-5, f"{name}: {what} off by {_rel(got, want):.2e}"


@pytest.mark.parametrize("name", ["3x3 s2 (ResNet downsample)", "groups 4 (ResNeXt)", "dilation 2"])
def test_chunks_of_the_batch_give_the_same_values_and_gradients(name, monkeypatch):
  """Large batches run im2col chunk by chunk (`lax.map`, patches rebuilt in the backward pass)."""
  x_shape, w_shape, strides, *_ = CASES[name]
  monkeypatch.setattr(matmul_conv, "CHUNK_BYTES", 1)  # one example per chunk
  assert matmul_conv.chunk_size(x_shape[0], 1000) == 1
  for got, want in zip(*_pair(name)):
    assert _rel(got, want) < 1e-5


def test_chunk_size_divides_the_batch_and_fits_the_cache_budget():
  budget = matmul_conv.CHUNK_BYTES
  assert matmul_conv.chunk_size(128, budget // 8) == 8
  assert matmul_conv.chunk_size(100, budget // 8) == 5  # the largest divisor of 100 that fits
  assert matmul_conv.chunk_size(7, budget * 2) == 1
  assert matmul_conv.chunk_size(3, 1) == 3


def _grad_fn(impl, strides=(2, 2), groups=2):
  def loss(x, w):
    with matmul_conv.use(impl):
      y = matmul_conv.conv_general_dilated(x, w, strides, ((1, 1), (1, 1)), dimension_numbers=NHWC,
                                           feature_group_count=groups)
    return jnp.sum(jnp.tanh(y) ** 2)
  return jax.grad(loss, argnums=(0, 1))


def test_vmap_and_forward_over_reverse_equal_lax():
  """Per-example gradients (vmap of grad) and a Hessian-vector product (jvp of grad) agree with lax."""
  kx, kw, kt = jax.random.split(jax.random.PRNGKey(1), 3)
  xs, w = jax.random.normal(kx, (3, 2, 8, 8, 4)), jax.random.normal(kw, (3, 3, 2, 6))
  per_example = {impl: jax.jit(jax.vmap(_grad_fn(impl), in_axes=(0, None)))(xs, w) for impl in ("matmul", "lax")}
  for got, want in zip(per_example["matmul"], per_example["lax"]):
    assert _rel(got, want) < 1e-5
  tangents = (jax.random.normal(kt, xs.shape[1:]), jnp.zeros_like(w))
  hvp = {impl: jax.jit(lambda x, w: jax.jvp(_grad_fn(impl), (x, w), tangents))(xs[0], w) for impl in ("matmul", "lax")}
  for got, want in zip(jax.tree.leaves(hvp["matmul"]), jax.tree.leaves(hvp["lax"])):
    assert _rel(got, want) < 1e-5


def test_cases_it_does_not_cover_run_on_lax_with_the_same_result():
  """Transposed convolutions (input dilation) and channels-first layouts fall back to lax."""
  x, w = jax.random.normal(jax.random.PRNGKey(2), (2, 4, 6, 6)), jax.random.normal(jax.random.PRNGKey(3), (5, 4, 3, 3))
  nchw = ("NCHW", "OIHW", "NCHW")
  assert not matmul_conv.covers(x.shape, w.shape, None, nchw, 1)
  assert not matmul_conv.covers((2, 6, 6, 4), (3, 3, 4, 5), (2, 2), NHWC, 1)
  with matmul_conv.use("matmul"):
    got = matmul_conv.conv_general_dilated(x, w, (1, 1), ((1, 1), (1, 1)), lhs_dilation=(2, 2), dimension_numbers=nchw)
  want = lax.conv_general_dilated(x, w, (1, 1), ((1, 1), (1, 1)), lhs_dilation=(2, 2), dimension_numbers=nchw)
  np.testing.assert_array_equal(got, want)


def test_conv_module_keeps_flax_parameters_and_follows_the_choice():
  x = jax.random.normal(jax.random.PRNGKey(4), (2, 8, 8, 3))
  mine, flax_conv = Conv(8, (3, 3), strides=2, padding=1), nn.Conv(8, (3, 3), strides=2, padding=1)
  params = mine.init(jax.random.PRNGKey(5), x)
  assert jax.tree.map(jnp.shape, params) == jax.tree.map(jnp.shape, flax_conv.init(jax.random.PRNGKey(5), x))
  outputs = {}
  for impl in ("matmul", "lax"):
    with matmul_conv.use(impl):
      outputs[impl] = jax.jit(mine.apply)(params, x)
  assert _rel(outputs["matmul"], flax_conv.apply(params, x)) < 1e-5
  np.testing.assert_array_equal(outputs["lax"], flax_conv.apply(params, x))


def test_choice_resolves_by_backend_and_rejects_unknown_names():
  assert matmul_conv.resolved("auto") == ("matmul" if jax.default_backend() == "cpu" else "lax")
  assert matmul_conv.resolved("lax") == "lax"
  with pytest.raises(ValueError, match="choose one of: auto, lax, matmul"):
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
