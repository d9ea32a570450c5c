"""RealNVP (`jaxdl.models.flow`) and exact-likelihood training (`--task=flow`): the log-determinant each layer
and the whole flow return equals slogdet of `jax.jacobian` of the transform, the inverse undoes the forward
map, and a small flow trains on the dequantized digits through the loop and samples."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl import modes
from jaxdl.config import Config
from jaxdl.models.flow import AffineCoupling, RealNVP, checkerboard, channel_mask
from jaxdl.tasks.flow import Flow
from jaxdl.train import loop

X = jax.random.uniform(jax.random.PRNGKey(0), (1, 4, 4, 1), minval=-1.0, maxval=1.0)


def random_variables(module, x):
  """Every parameter drawn at scale 0.2 (a trained flow, not the identity it starts as), in init's shapes, on
  the host (no generator compiled per shape)."""
  rng = np.random.default_rng(2)
  return jax.tree.map(lambda v: 0.2 * rng.standard_normal(v.shape).astype(np.float32),
                      jax.eval_shape(module.init, jax.random.PRNGKey(1), x))


def check_log_det_and_inverse(module, x):
  variables = random_variables(module, x)
  forward = jax.jit(lambda x: module.apply(variables, x))
  z, log_det = forward(x)
  jacobian = jax.jit(jax.jacobian(lambda x: forward(x)[0].reshape(-1)))(x).reshape(x.size, x.size)
  sign, expected = np.linalg.slogdet(np.asarray(jacobian, np.float64))
  assert sign > 0 and abs(float(log_det[0]) - expected) < 1e-4 and abs(expected) > 0.01
  back = module.apply(variables, z, method="inverse")
  np.testing.assert_allclose(back, x, atol=1e-5)


def test_a_checkerboard_coupling_layers_log_det_and_inverse():
  check_log_det_and_inverse(AffineCoupling(checkerboard(4, 4, 1, 0), hidden=8), X)


def test_the_whole_flow_with_squeeze_and_channel_masks():
  check_log_det_and_inverse(RealNVP(checkerboard_layers=2, channel_layers=2, hidden=8), X)


def test_masks_alternate_and_cover_every_pixel_between_a_pair():
  for mask in (checkerboard, channel_mask):
    a, b = mask(4, 4, 4, 0), mask(4, 4, 4, 1)
    np.testing.assert_array_equal(a + b, np.ones((4, 4, 4)))
    assert a.sum() == b.sum() == 32


def test_the_logit_transforms_log_derivative_is_the_sum_of_its_elementwise_log_derivatives():
  task = Flow(None, 10, levels=17)
  images, noise = jnp.array([[0.0, 0.5, 1.0, 0.25]]), jnp.array([[0.3, 0.9, 0.1, 0.5]])
  _, log_derivative = task.to_logits(images, noise)
  derivative = jax.vmap(jax.grad(lambda u, k: task.to_logits(k[None, None], u[None, None])[0][0, 0]))(noise[0],
                                                                                                       images[0])
  np.testing.assert_allclose(log_derivative[0], np.log(np.asarray(derivative) * 17).sum(), rtol=1e-5)


def test_a_small_flow_trains_on_the_dequantized_digits_and_samples(tmp_path):
  config = Config(data="digits", data_args="image_size=8", model="realnvp",
                  model_args="checkerboard_layers=1,channel_layers=1,hidden=8", task="flow",
                  task_args="levels=17,samples=8", optim="adam", lr=1e-3, batch_size=32, steps=10, log_every=10,
                  eval_every=10)
  summary = loop.train_and_evaluate(config, str(tmp_path))
  final = summary["final"]
  assert np.isclose(final["val_bits_per_dim"], final["val_loss"] / np.log(2), rtol=1e-5)
  rows = [line for line in (tmp_path / "metrics.jsonl").read_text().splitlines() if '"init"' in line]
  assert final["val_loss"] < float(rows[0].split('"loss": ')[1].split(",")[0])  # lower than at the start
  assert "8 samples: N(0, I) through the inverse flow" in modes.MODES["sample"].run(config, str(tmp_path))
