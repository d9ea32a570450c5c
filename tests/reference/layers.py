"""NumPy forward passes of the dense, conv and pooling layers and the LeNet/MLP models built from them."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def dense(x, p):
  return x @ p["kernel"] + p["bias"]


def conv2d(x, p, padding=0):
  """NHWC cross-correlation, stride 1: out[b,i,j,o] = sum_{di,dj,c} x[b,i+di,j+dj,c] k[di,dj,c,o] + bias[o]."""
  x = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
  kh, kw = p["kernel"].shape[:2]
  patches = sliding_window_view(x, (kh, kw), axis=(1, 2))  # (B, H', W', C, kh, kw)
  return np.einsum("bijcuv,uvco->bijo", patches, p["kernel"]) + p["bias"]


def pool2d(x, reduce):
  """2x2, stride 2."""
  b, h, w, c = x.shape
  return reduce(x.reshape(b, h // 2, 2, w // 2, 2, c), axis=(2, 4))


def relu(x):
  return np.maximum(x, 0)


def mlp(x, params, depth, activation=relu):
  x = x.reshape(len(x), -1)
  for i in range(depth):
    x = activation(dense(x, params[f"Dense_{i}"]))
  return dense(x, params[f"Dense_{depth}"])


def lenet5(x, params, activation=np.tanh, pool=np.mean):
  x = pool2d(activation(conv2d(x, params["Conv_0"])), pool)
  x = pool2d(activation(conv2d(x, params["Conv_1"])), pool)
  x = x.reshape(len(x), -1)
  x = activation(dense(x, params["Dense_0"]))
  x = activation(dense(x, params["Dense_1"]))
  return dense(x, params["Dense_2"])


def lenet_modern(x, params):
  x = pool2d(relu(conv2d(x, params["Conv_0"], padding=2)), np.max)
  x = pool2d(relu(conv2d(x, params["Conv_1"], padding=2)), np.max)
  x = relu(dense(x.reshape(len(x), -1), params["Dense_0"]))
  return dense(x, params["Dense_1"])
