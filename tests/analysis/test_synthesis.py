"""Class-model visualization and feature inversion by what must hold of them: on a linear score the class model
has a closed form, an orthogonal representation is inverted exactly, and total variation is the sum of squared
neighbour differences."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxdl.analysis import synthesis

RNG = np.random.default_rng(0)
SHAPE = (2, 5, 4, 3)  # (B, H, W, C)


def test_total_variation_sums_squared_right_and_down_differences():
  x = RNG.standard_normal(SHAPE).astype(np.float32)
  expected = np.zeros(SHAPE[0])
  for b in range(SHAPE[0]):
    for i in range(SHAPE[1] - 1):
      for j in range(SHAPE[2] - 1):
        expected[b] += np.sum((x[b, i, j + 1] - x[b, i, j]) ** 2 + (x[b, i + 1, j] - x[b, i, j]) ** 2)
  np.testing.assert_allclose(synthesis.total_variation(jnp.asarray(x)), expected, rtol=1e-5)
  assert float(synthesis.total_variation(jnp.ones(SHAPE)).sum()) == 0.0


def test_the_class_model_of_a_linear_score_is_the_start_plus_its_weight_row_over_twice_the_penalty():
  """argmax_x w_c^T x - l2 ||x - s||^2 = s + w_c / (2 l2): gradient ascent with no jitter and no clipping finds
  it; with clipping it stays in the pixel range."""
  w = jnp.asarray(RNG.standard_normal((60, 4)), jnp.float32)
  start = jnp.asarray(RNG.uniform(size=SHAPE), jnp.float32)
  classes = jnp.array([3, 1])
  logits_fn = lambda x: x.reshape(len(x), -1) @ w  # noqa: E731
  made = synthesis.class_model(logits_fn, start, classes, jax.random.PRNGKey(0), steps=60, l2=0.5, jitter=0,
                               low=-jnp.inf, high=jnp.inf, optimizer=optax.sgd(0.5))
  np.testing.assert_allclose(made, start + w[:, classes].T.reshape(SHAPE) / (2 * 0.5), rtol=1e-5, atol=1e-5)
  clipped = synthesis.class_model(logits_fn, start, classes, jax.random.PRNGKey(0), steps=20, jitter=0)
  assert float(clipped.min()) >= 0 and float(clipped.max()) <= 1
  score = lambda x: np.take_along_axis(np.asarray(logits_fn(x)), np.asarray(classes)[:, None], 1)  # noqa: E731
  assert np.all(score(clipped) > score(start) + 1)


def test_inversion_recovers_an_image_from_an_orthogonal_representation_and_total_variation_smooths():
  q, _ = np.linalg.qr(RNG.standard_normal((60, 60)))
  represent = lambda x: x.reshape(len(x), -1) @ jnp.asarray(q, jnp.float32)  # noqa: E731
  images = jnp.asarray(RNG.uniform(size=SHAPE), jnp.float32)
  target = represent(images)
  start = jnp.full(SHAPE, 0.5, jnp.float32)
  # The loss is ||x - x0||^2 / ||x0||^2 per image: a step of ||x0||^2 / 4 halves the distance each time.
  step = float(jnp.square(target).sum(-1).min()) / 4
  made = synthesis.invert(represent, target, start, jax.random.PRNGKey(0), steps=40, tv=0.0, optimizer=optax.sgd(step))
  np.testing.assert_allclose(made, images, atol=1e-4)
  smooth = synthesis.invert(represent, target, start, jax.random.PRNGKey(0), steps=200, tv=1.0)
  assert float(synthesis.total_variation(smooth).sum()) < 0.5 * float(synthesis.total_variation(images).sum())
