"""Conv building blocks shared by the CNN families (torchvision's layouts, so parameter counts match)."""

import functools
from collections.abc import Callable
from typing import Any, Literal

import flax.linen as nn
import jax.numpy as jnp

from jaxdl.nn import matmul_conv
from jaxdl.nn.norms import batch_norm

# A CNN's first layers: "imagenet" downsamples 224x224 inputs early (a large strided conv, then pooling), as the
# papers do; "small" keeps 32x32 and smaller inputs whole (one 3x3 stride-1 conv, or the model's nearest
# equivalent), as CIFAR versions do. Unknown names are a UsageError when flags are parsed (jaxdl.args).
Stem = Literal["imagenet", "small"]

# torchvision initializes convs with Kaiming normal over fan_out (He et al., 2015).
conv_init = nn.initializers.variance_scaling(2.0, "fan_out", "normal")


class Conv(nn.Conv):
  """`flax.linen.Conv` running the process's `--conv_impl` (`jaxdl.nn.matmul_conv`): every conv of the
  families goes through here. Same class name and fields, so parameter names, shapes and counts are flax's."""

  conv_general_dilated: Callable | None = matmul_conv.conv_general_dilated


def conv(features: int, kernel: int, strides: int = 1, padding: int | None = None, use_bias: bool = False,
         groups: int = 1, dtype: Any = jnp.float32, name: str | None = None) -> Conv:
  """A square conv with torchvision's default padding (kernel // 2) and no bias (a norm follows)."""
  return Conv(features, (kernel, kernel), strides=strides, padding=kernel // 2 if padding is None else padding,
              use_bias=use_bias, feature_group_count=groups, kernel_init=conv_init, dtype=dtype, name=name)


class ConvNormAct(nn.Module):
  """conv -> BatchNorm -> ReLU: torchvision's `BasicConv2d` / `Conv2dNormActivation`."""

  features: int
  kernel: int
  strides: int = 1
  padding: int | None = None
  groups: int = 1
  norm_eps: float = 1e-5
  norm_axis_name: str | None = None
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = False):
    x = conv(self.features, self.kernel, self.strides, self.padding, groups=self.groups, dtype=self.dtype)(x)
    x = batch_norm(train, self.norm_axis_name, epsilon=self.norm_eps, dtype=self.dtype)(x)
    return nn.relu(x)


max_pool_3x3_s2 = functools.partial(nn.max_pool, window_shape=(3, 3), strides=(2, 2), padding="SAME")
