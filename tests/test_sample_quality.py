"""What scores generated images: a classifier's penultimate features (`jaxdl.analysis.features`), the
Fréchet distance between two sets of them (`jaxdl.analysis.frechet`), and a judge's scores of a generator's
draws (`jaxdl.tasks.judging`)."""

import types

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

from jaxdl.analysis.features import penultimate
from jaxdl.analysis.frechet import frechet_distance
from jaxdl.models.mlp import MLP
from jaxdl.tasks.judging import judge_samples

RNG = np.random.default_rng(0)


def rows_with_moments(count, std, mean):
  """Rows whose sample mean is exactly `mean` and sample covariance exactly diag(std^2)."""
  x = RNG.standard_normal((count, len(std)))
  x -= x.mean(0)
  return x @ np.linalg.inv(np.linalg.cholesky(np.cov(x, rowvar=False))).T * std + mean


def test_frechet_distance_of_gaussians_with_commuting_covariances_has_the_closed_form():
  """For diagonal covariances Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) = sum (sigma_a - sigma_b)^2."""
  a = rows_with_moments(4000, np.array([1.0, 2.0, 0.5]), np.array([0.0, 1.0, -1.0]))
  b = rows_with_moments(3000, np.array([1.5, 1.0, 0.5]), np.array([0.5, 1.0, 0.0]))
  expected = (0.5 ** 2 + 0.0 + 1.0 ** 2) + ((1.0 - 1.5) ** 2 + (2.0 - 1.0) ** 2 + 0.0)
  assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)
  assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
  assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-6)
  with pytest.raises(ValueError, match="feature rows of one width"):
    frechet_distance(a, b[:, :2])


def test_penultimate_features_are_the_heads_input():
  model = MLP(num_classes=4, depth=2, width=8)
  x = jnp.asarray(RNG.uniform(size=(5, 3, 3, 1)), jnp.float32)
  variables = model.init(jax.random.PRNGKey(0), x)
  logits, features = penultimate(model, variables, x, train=False)
  np.testing.assert_allclose(logits, model.apply(variables, x, train=False), rtol=1e-6)
  head = [name for name in variables["params"]][-1]
  kernel, bias = variables["params"][head]["kernel"], variables["params"][head]["bias"]
  assert features.shape == (5, 8)
  np.testing.assert_allclose(features @ kernel + bias, logits, rtol=1e-5, atol=1e-6)


def test_a_model_without_a_dense_layer_has_no_penultimate_features():
  model = nn.Conv(2, (3, 3))
  x = jnp.zeros((1, 4, 4, 1))
  with pytest.raises(ValueError, match="calls no Dense layer"):
    penultimate(model, model.init(jax.random.PRNGKey(0), x), x)


def test_frechet_distance_agrees_with_the_matrix_square_root_and_survives_singular_covariances():
  a, b = RNG.standard_normal((500, 6)) @ RNG.standard_normal((6, 6)), RNG.standard_normal((400, 6))
  cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
  direct = np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(cov_a + cov_b - 2 * scipy.linalg.sqrtm(cov_a @ cov_b).real)
  assert frechet_distance(a, b) == pytest.approx(direct, rel=1e-8)
  dead = np.concatenate([a[:, :4], np.zeros((500, 2))], axis=1)  # two features never fire
  assert np.isfinite(frechet_distance(dead, b)) and frechet_distance(dead, dead) == pytest.approx(0.0, abs=1e-8)


class _Split:
  def __init__(self, images):
    self.images = images

  def __len__(self):
    return len(self.images)

  def read(self, indices):
    return {"image": self.images[indices]}


def test_several_draws_report_the_mean_and_spread_of_their_distances_the_first_being_the_single_draw():
  """300 samples span two chunks; a judge whose features are the pixels and whose logits are the first three."""
  dataset = types.SimpleNamespace(splits={"test": _Split(RNG.uniform(size=(50, 2, 2, 1)).astype(np.float32))})
  judge = lambda images: (images.reshape(len(images), -1)[:, :3], images.reshape(len(images), -1))  # noqa: E731
  generate = lambda key, n, labels: np.asarray(jax.random.uniform(key, (n, 2, 2, 1)))  # noqa: E731
  labels, rng = np.arange(300) % 3, jax.random.PRNGKey(0)
  singles = [judge_samples(judge, generate, 300, dataset, key, labels) for key in [rng, *jax.random.split(rng, 2)]]
  three = judge_samples(judge, generate, 300, dataset, rng, labels, draws=3)
  distances = [single["frechet_distance"] for single in singles]
  assert "frechet_distance_std" not in singles[0] and len(set(distances)) == 3
  assert three["frechet_distance"] == pytest.approx(np.mean(distances), rel=1e-12)
  assert three["frechet_distance_std"] == pytest.approx(np.std(distances, ddof=1), rel=1e-12)
  assert three["label_accuracy"] == pytest.approx(np.mean([single["label_accuracy"] for single in singles]))
