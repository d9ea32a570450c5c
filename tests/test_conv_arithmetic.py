"""The notes' worked convolution examples, exactly, and agreement with real flax layers."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import pytest

from jaxdl.nn.conv import (conv_macs, conv_output_size, conv_params, conv_transpose_output_size,
                           depthwise_separable_params, output_bytes, receptive_field)


def test_ten_5x5_filters_stride_1_pad_2_on_3x32x32():
  side = conv_output_size(32, 5, stride=1, padding=2)
  assert side == 32  # 10 x 32 x 32 output
  assert conv_params(3, 10, 5) == 760  # 10 x (3 x 5 x 5 + 1)
  assert conv_macs(3, 10, 5, side, side) == 768_000 == 75 * 10_240


def test_alexnet_conv1():
  side = conv_output_size(227, 11, stride=4, padding=2)
  assert side == 56
  assert conv_params(3, 64, 11) == 23_296
  assert 64 * side * side == 200_704
  assert output_bytes(64, side, side) == 784 * 1024  # 784 KiB in float32
  assert conv_macs(3, 64, 11, side, side) == 72_855_552


def test_bottleneck_1x1_reduce_before_3x3():
  """Per output location: 3x3 256->256 costs 589,824 (~600K); 1x1 256->64, 3x3 64->64, 1x1 64->256 cost
  69,632 (~70K)."""
  assert conv_macs(256, 256, 3, 1, 1) == 589_824
  assert conv_macs(256, 64, 1, 1, 1) + conv_macs(64, 64, 3, 1, 1) + conv_macs(64, 256, 1, 1, 1) == 69_632
  assert conv_params(256, 64, 1, bias=False) + conv_params(64, 64, 3, bias=False) + \
      conv_params(64, 256, 1, bias=False) == 69_632


def test_groups_depthwise_and_transposed():
  assert conv_params(64, 128, 3, groups=32) == 128 * 2 * 9 + 128
  assert depthwise_separable_params(32, 64, 3, bias=False) == 32 * 9 + 32 * 64
  assert conv_transpose_output_size(conv_output_size(32, 4, stride=2, padding=1), 4, stride=2, padding=1) == 32
  assert conv_output_size(32, 3, padding=2, dilation=2) == 32
  with pytest.raises(ValueError, match="groups=3"):
    conv_params(64, 128, 3, groups=3)


def test_receptive_field():
  assert receptive_field([(3, 1)] * 3) == 7  # three 3x3 convs see what one 7x7 sees (VGG)
  assert receptive_field([(3, 1), (2, 2), (3, 1)]) == 8
  assert receptive_field([(3, 1, 2)]) == 5


@pytest.mark.parametrize("c_in,c_out,kernel,stride,padding,groups,dilation", [
    (3, 10, 5, 1, 2, 1, 1), (3, 64, 11, 4, 2, 1, 1), (64, 128, 3, 2, 1, 32, 1), (8, 8, 3, 1, 2, 8, 2)])
def test_helpers_agree_with_flax_conv(c_in, c_out, kernel, stride, padding, groups, dilation):
  layer = nn.Conv(c_out, (kernel, kernel), strides=stride, padding=padding, feature_group_count=groups,
                  kernel_dilation=dilation)
  x = jnp.zeros((1, 35, 35, c_in))
  out, variables = jax.eval_shape(lambda x: layer.init_with_output(jax.random.PRNGKey(0), x), x)
  side = conv_output_size(35, kernel, stride, padding, dilation)
  assert out.shape == (1, side, side, c_out)
  assert sum(v.size for v in jax.tree.leaves(variables)) == conv_params(c_in, c_out, kernel, groups=groups)


def test_transposed_helper_agrees_with_flax():
  layer = nn.ConvTranspose(4, (4, 4), strides=(2, 2), padding="SAME")
  out = jax.eval_shape(lambda x: layer.init_with_output(jax.random.PRNGKey(0), x)[0], jnp.zeros((1, 16, 16, 3)))
  assert out.shape[1] == conv_transpose_output_size(16, 4, stride=2, padding=1)
