"""The denoisers of `jaxdl.models.unet` and `jaxdl.models.dit`: what their zero initialization promises, and that
the step and the label reach the output."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl import modes
from jaxdl.config import Config
from jaxdl.errors import InputShapeError
from jaxdl.models import dit, unet

X = jax.random.normal(jax.random.PRNGKey(0), (2, 8, 8, 1))
T, LABELS = jnp.array([3, 40]), jnp.array([1, 10])  # label 10: "no label" (classifier-free guidance)


def perturbed(params, scale=0.02):
  """The parameters with every zero-initialized kernel made non-zero, as training would (drawn on the host:
  jax.random per leaf would compile a generator per shape)."""
  rng = np.random.default_rng(7)
  return jax.tree.map(lambda x: x + scale * rng.standard_normal(x.shape).astype(np.float32), params)


def test_each_dit_block_starts_as_the_identity():
  block = dit.DiTBlock(num_heads=2)
  x, c = jax.random.normal(jax.random.PRNGKey(1), (2, 16, 32)), jax.random.normal(jax.random.PRNGKey(2), (2, 32))
  variables = jax.jit(block.init)(jax.random.PRNGKey(3), x, c)
  apply = jax.jit(block.apply)
  np.testing.assert_array_equal(apply(variables, x, c), x)
  assert float(jnp.abs(apply(perturbed(variables), x, c) - x).max()) > 1e-3


def test_dit_grid_positions_code_row_and_column_in_separate_halves():
  table = dit.grid_positions(3, 4, 16)
  assert table.shape == (12, 16)
  np.testing.assert_array_equal(table[0, :8], table[3, :8])   # same row, other column: same first half
  np.testing.assert_array_equal(table[0, 8:], table[4, 8:])   # same column, other row: same second half
  assert not np.allclose(table[0], table[5])


def test_unet_starts_at_zero_noise_and_its_output_depends_on_step_label_and_every_pixel():
  # its zero-initialized head makes any U-Net start at "no noise" (a one-level one here: a small init to compile)
  small = unet.UNet(channels=8, multipliers=(1,), blocks=1, attention_levels=(), num_heads=2, num_classes=10)
  np.testing.assert_array_equal(jax.jit(small.init_with_output)(jax.random.PRNGKey(0), X, T, LABELS)[0],
                                jnp.zeros_like(X))
  model = unet.UNet(channels=8, multipliers=(1, 2), blocks=1, attention_levels=(1,), num_heads=2, num_classes=10)
  variables = perturbed(jax.tree.map(lambda x: np.zeros(x.shape, x.dtype),
                                     jax.eval_shape(model.init, jax.random.PRNGKey(0), X, T, LABELS)), scale=0.3)
  apply = jax.jit(model.apply)
  out = apply(variables, X, T, LABELS)
  assert out.shape == X.shape
  assert not np.allclose(out, apply(variables, X, T + 100, LABELS), atol=1e-6)
  assert not np.allclose(out, apply(variables, X, T, jnp.array([2, 3])), atol=1e-6)
  # the attention at the lowest resolution and the skips give the top-left output a view of the far corner of
  # its own image, and none of the other image's
  corner = X.at[0, -1, -1, 0].add(1.0)
  moved = apply(variables, corner, T, LABELS)
  assert float(jnp.abs(moved[0, 0, 0] - out[0, 0, 0]).max()) > 1e-6
  np.testing.assert_array_equal(moved[1], out[1])


def test_unet_rejects_images_its_levels_cannot_halve():
  model = unet.UNet(channels=8, multipliers=(1, 2, 2), blocks=1)
  with pytest.raises(InputShapeError, match="6x6 images do not halve 2 times"):
    jax.eval_shape(model.init, jax.random.PRNGKey(0), jnp.zeros((1, 6, 6, 1)), jnp.zeros((1,), jnp.int32))


def test_summary_tables_a_denoiser_through_its_task():
  """--mode=summary initializes through the task, which gives a denoiser its step and label besides the image."""
  config = Config(data="digits", data_args="image_size=8", model="dit", model_args="width=16,depth=1,num_heads=2",
                  task="diffusion", task_args="conditional=true")
  table = modes.MODES["summary"].run(config, "")
  model = dit.DiT(width=16, depth=1, num_heads=2, num_classes=10)
  shapes = jax.eval_shape(model.init, jax.random.PRNGKey(0), jnp.zeros((1, 8, 8, 1)), jnp.zeros((1,), jnp.int32),
                          jnp.zeros((1,), jnp.int32))
  total = sum(x.size for x in jax.tree.leaves(shapes["params"]))
  last = table.splitlines()[-1].split()
  assert last[0] == "total" and int(last[1].replace(",", "")) == total
  assert "label/embedding" in table and "block0/attention" in table
