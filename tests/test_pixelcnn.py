"""PixelCNN's masked convolutions: the Jacobian of the output with respect to the input shows that pixel i
never depends on pixels >= i after a type-A layer, or > i through type-B layers alone (raster order); and the
autoregressive task's likelihood, sampling and modes on a tiny model."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl import modes
from jaxdl.config import Config
from jaxdl.models.pixelcnn import PixelCNN, causal_mask, masked_conv
from jaxdl.train import loop

SIDE = 5


def jacobian(model, x):
  """d output[i] / d input[j] for raster indices i, j of one image (SIDE * SIDE, SIDE * SIDE), at random
  parameters (every masked tap non-zero)."""
  rng = np.random.default_rng(1)
  variables = jax.tree.map(lambda v: rng.standard_normal(v.shape).astype(np.float32),
                           jax.eval_shape(model.init, jax.random.PRNGKey(0), x))
  jac = jax.jit(jax.jacobian(lambda v, x: model.apply(v, x).reshape(-1), argnums=1))
  return jac(variables, x).reshape(SIDE * SIDE, SIDE * SIDE)


def test_a_type_a_network_never_lets_pixel_i_see_pixels_from_i_on():
  """(Stacked 3x3 masks also leave PixelCNN's blind spot to the upper right, so not every earlier pixel counts.)"""
  x = jax.random.uniform(jax.random.PRNGKey(2), (1, SIDE, SIDE, 1))
  j = np.abs(np.asarray(jacobian(PixelCNN(features=8, blocks=2, first_kernel=3), x)))
  assert np.all(np.triu(j) == 0)                           # j >= i: no dependence, the diagonal included
  i = np.arange(SIDE * SIDE)
  assert np.all(j[i[i % SIDE > 0], i[i % SIDE > 0] - 1] > 0)  # the pixel to the left counts
  assert np.all(j[i[i >= SIDE], i[i >= SIDE] - SIDE] > 0)     # and the one above


def test_type_b_layers_alone_let_pixel_i_see_itself_but_nothing_after():
  x = jax.random.uniform(jax.random.PRNGKey(3), (1, SIDE, SIDE, 1))
  j = np.abs(np.asarray(jacobian(masked_conv(1, 3, 1, "B"), x)))
  assert np.all(np.triu(j, k=1) == 0) and np.all(np.diag(j) > 0)


def test_masks_and_their_errors():
  a, b = causal_mask(5, 1, 1, "A")[..., 0, 0], causal_mask(5, 1, 1, "B")[..., 0, 0]
  assert a.sum() == 12 and b.sum() == 13 and a[2, 2] == 0 and b[2, 2] == 1 and b[2, 3] == 0
  with pytest.raises(ValueError, match="choose A or B"):
    causal_mask(3, 1, 1, "C")
  with pytest.raises(ValueError, match="models one channel"):
    PixelCNN(features=4, blocks=1).init(jax.random.PRNGKey(0), jnp.zeros((1, 4, 4, 3)))


def test_pixelcnn_trains_through_the_loop_in_bits_per_dim_and_samples_a_grid(tmp_path):
  config = Config(data="digits", data_args="image_size=8", model="pixelcnn",
                  model_args="features=8,blocks=1,first_kernel=3", task="autoregressive", task_args="samples=8",
                  optim="adam", lr=3e-3, batch_size=32, steps=30, log_every=10, eval_every=30)
  final = loop.train_and_evaluate(config, str(tmp_path))["final"]
  assert final["val_bits_per_dim"] < 1.0  # below 1 bit: better than a fair coin per pixel
  assert np.isclose(final["val_bits_per_dim"], final["val_loss"] / np.log(2), rtol=1e-5)
  assert "8 samples drawn pixel by pixel" in modes.MODES["sample"].run(config, str(tmp_path))
  assert (tmp_path / "plots" / "samples.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
