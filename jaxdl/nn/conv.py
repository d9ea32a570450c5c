"""Convolution arithmetic from the notes: output size, parameters, multiply-adds, memory, receptive field.

Sizes are per spatial dimension; `kernel` may be an int or an (h, w) pair.
"""

from collections.abc import Iterable


def _pair(k: int | tuple[int, int]) -> tuple[int, int]:
  return (k, k) if isinstance(k, int) else tuple(k)


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
  """floor((N + 2 pad - F_eff) / stride) + 1, with the dilated extent F_eff = dilation (F - 1) + 1."""
  extent = dilation * (kernel - 1) + 1
  if size + 2 * padding < extent:
    raise ValueError(f"a {kernel}-wide kernel (dilation {dilation}) does not fit {size} + 2 x {padding} padding")
  return (size + 2 * padding - extent) // stride + 1


def conv_transpose_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, output_padding: int = 0,
                               dilation: int = 1) -> int:
  """(N - 1) stride - 2 pad + dilation (F - 1) + output_padding + 1: the inverse map of conv_output_size."""
  return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def conv_params(c_in: int, c_out: int, kernel: int | tuple[int, int], bias: bool = True, groups: int = 1) -> int:
  """C_out x (C_in / groups x F_h x F_w + 1): each of C_out filters sees C_in / groups channels."""
  if c_in % groups or c_out % groups:
    raise ValueError(f"groups={groups} must divide c_in={c_in} and c_out={c_out}")
  kh, kw = _pair(kernel)
  return c_out * (c_in // groups) * kh * kw + (c_out if bias else 0)


def depthwise_separable_params(c_in: int, c_out: int, kernel: int | tuple[int, int], bias: bool = True) -> int:
  """A depthwise F x F conv (groups = C_in) followed by a 1x1 pointwise conv (MobileNet)."""
  return conv_params(c_in, c_in, kernel, bias, groups=c_in) + conv_params(c_in, c_out, 1, bias)


def conv_macs(c_in: int, c_out: int, kernel: int | tuple[int, int], out_h: int, out_w: int, groups: int = 1) -> int:
  """Multiply-adds: every output value is a (C_in / groups x F_h x F_w)-long inner product."""
  kh, kw = _pair(kernel)
  return (c_in // groups) * kh * kw * c_out * out_h * out_w


def output_bytes(channels: int, height: int, width: int, bytes_per_value: int = 4) -> int:
  """Memory for one image's output activations (float32 by default)."""
  return channels * height * width * bytes_per_value


def receptive_field(layers: Iterable[tuple[int, int] | tuple[int, int, int]]) -> int:
  """Receptive field of a stack of (kernel, stride[, dilation]) layers, input side first.

  Each layer widens it by dilation (kernel - 1) times the product of the strides before it.
  """
  field, jump = 1, 1
  for layer in layers:
    kernel, stride, dilation = (*layer, 1)[:3]
    field += dilation * (kernel - 1) * jump
    jump *= stride
  return field
