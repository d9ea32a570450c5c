"""Saliency, CAM and Grad-CAM by what must hold of them: a linear model's saliency is its weight row, and on a
model that average-pools its last conv layer into one linear layer Grad-CAM is ReLU(CAM) up to a positive scale
(dS/dA_hwk = w_k / (h w), so alpha_k = w_k / (h w))."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl.analysis import saliency

RNG = np.random.default_rng(0)
IMAGES = jnp.asarray(RNG.uniform(size=(3, 6, 6, 2)), jnp.float32)
LABELS = jnp.array([0, 3, 1])


class PooledNet(nn.Module):
  """conv -> ReLU -> conv ("features") -> global average pooling -> Dense: CAM's model."""

  @nn.compact
  def __call__(self, x):
    h = nn.Conv(8, (3, 3), name="stem")(x)
    h = nn.Conv(5, (3, 3), name="features")(nn.relu(h))
    return nn.Dense(4, name="head")(h.mean(axis=(1, 2)))


def test_the_saliency_of_a_linear_model_is_its_weight_row():
  w = jnp.asarray(RNG.standard_normal((72, 4)), jnp.float32)
  maps = saliency.saliency(lambda x: x.reshape(len(x), -1) @ w, IMAGES, LABELS)
  np.testing.assert_allclose(maps, w[:, LABELS].T.reshape(IMAGES.shape), rtol=1e-6)


def test_grad_cam_is_relu_of_cam_over_the_pooled_area_and_any_layer_can_be_read():
  model = PooledNet()
  variables = model.init(jax.random.PRNGKey(0), IMAGES)
  cam = saliency.class_activation_map(model, variables, IMAGES, LABELS, "features")
  grad_cam = saliency.grad_cam(model, variables, IMAGES, LABELS, "features")
  assert cam.shape == grad_cam.shape == (3, 6, 6) and float(jnp.abs(cam).max()) > 0
  np.testing.assert_allclose(grad_cam, jax.nn.relu(cam) / 36, rtol=1e-5, atol=1e-7)
  assert saliency.grad_cam(model, variables, IMAGES, LABELS, "stem").shape == (3, 6, 6)
  with pytest.raises(ValueError, match="CAM needs 'stem' pooled straight into the last Dense"):
    saliency.class_activation_map(model, variables, IMAGES, LABELS, "stem")
  with pytest.raises(ValueError, match="has no layer 'nope'"):
    saliency.grad_cam(model, variables, IMAGES, LABELS, "nope")
