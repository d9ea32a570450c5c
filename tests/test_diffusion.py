"""DDPM / DDIM / guidance formulas (`jaxdl.diffusion`) against the papers' equations in NumPy.

The notes' DDIM line has typos: its product runs from t = 0, its mean multiplies x_t where the paper has x_0,
takes sigma_t^2 out of the square root and drops the (x_t - sqrt(alpha_t) x_0) / sqrt(1 - alpha_t) factor.
These tests follow Song et al. (2021), eq. 7, 12 and 16.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl import diffusion
from tests.reference import diffusion as reference

STEPS = 50


@pytest.fixture(scope="module", params=["linear", "cosine"])
def schedule(request):
  return diffusion.SCHEDULES[request.param](STEPS)


def test_schedules_destroy_the_signal_and_cosine_follows_its_formula():
  for name, make in diffusion.SCHEDULES.items():
    s = make(1000)
    assert np.all((np.asarray(s.betas) > 0) & (np.asarray(s.betas) < 1)), name
    assert np.all(np.diff(np.asarray(s.alpha_bars)) < 0), name
    assert float(s.alpha_bars[-1]) < 1e-3, name
  f = lambda t: np.cos((t / 1000 + 0.008) / 1.008 * np.pi / 2) ** 2  # noqa: E731
  t = np.arange(1, 800)  # before the betas are clipped at 0.999
  np.testing.assert_allclose(diffusion.cosine_schedule(1000).alpha_bars[t - 1], f(t) / f(0), rtol=1e-5)
  np.testing.assert_allclose(np.asarray(diffusion.linear_schedule(1000).betas)[[0, -1]], [1e-4, 0.02], rtol=1e-6)


def test_closed_form_q_sample_has_the_moments_of_iterating_the_forward_process(schedule):
  betas = np.asarray(schedule.betas, np.float64)
  for t in (0, 7, STEPS // 2, STEPS - 1):
    coefficient, variance = reference.forward_moments(betas, t)
    batch_t = jnp.full((1,), t)
    np.testing.assert_allclose(diffusion.q_sample(schedule, jnp.ones((1,)), batch_t, jnp.zeros((1,))), [coefficient],
                               rtol=1e-5)
    np.testing.assert_allclose(diffusion.q_sample(schedule, jnp.zeros((1,)), batch_t, jnp.ones((1,))),
                               [np.sqrt(variance)], rtol=1e-5)
  # and by simulation: 20,000 chains of the forward process against the closed form's distribution
  rng = np.random.default_rng(0)
  x0, t = 0.7, STEPS // 2
  x = np.full(20_000, x0)
  for beta in betas[:t + 1]:
    x = np.sqrt(1 - beta) * x + np.sqrt(beta) * rng.standard_normal(x.shape)
  closed = diffusion.q_sample(schedule, jnp.full(x.shape, x0), jnp.full(x.shape, t),
                              jax.random.normal(jax.random.PRNGKey(0), x.shape))
  for simulated, expected in ((x, np.asarray(closed)),):
    assert abs(simulated.mean() - expected.mean()) < 0.03 and abs(simulated.std() / expected.std() - 1) < 0.03


def test_posterior_mean_and_variance_equal_ho_et_al_eq_7(schedule):
  betas = np.asarray(schedule.betas, np.float64)
  rng = np.random.default_rng(1)
  x0, xt = rng.standard_normal((2, 4, 3))
  t = np.array([0, 1, STEPS // 2, STEPS - 1])
  mean, variance = diffusion.posterior(schedule, jnp.asarray(x0, jnp.float32), jnp.asarray(xt, jnp.float32), t)
  for i, step in enumerate(t):
    expected_mean, expected_variance = reference.posterior(betas, x0[i], xt[i], step)
    np.testing.assert_allclose(mean[i], expected_mean, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(variance[i, 0], expected_variance, rtol=1e-4, atol=1e-8)


def test_ancestral_step_equals_algorithm_2(schedule):
  betas = np.asarray(schedule.betas, np.float64)
  rng = np.random.default_rng(2)
  xt, eps, z = rng.standard_normal((3, 4, 5))
  t = np.array([0, 1, STEPS // 2, STEPS - 1])
  xt, eps, z = (jnp.asarray(a, jnp.float32) for a in (xt, eps, z))
  got = diffusion.ddpm_step(schedule, xt, jnp.asarray(t), eps, z, clip=None)
  for i, step in enumerate(t):
    x_i, eps_i, z_i = (np.asarray(a[i], np.float64) for a in (xt, eps, z))
    expected = reference.ddpm_algorithm2(betas, x_i, step, eps_i, z_i)
    np.testing.assert_allclose(got[i], expected, rtol=1e-4, atol=1e-4)


def test_ddim_step_is_eq_12_its_eta_1_variance_is_ddpms_and_then_it_is_the_ancestral_step(schedule):
  alpha_bars = np.asarray(schedule.alpha_bars, np.float64)
  rng = np.random.default_rng(3)
  xt, eps, z = (jnp.asarray(a, jnp.float32) for a in rng.standard_normal((3, 6)))
  for t, t_prev in ((STEPS - 1, STEPS - 11), (20, 3), (5, -1)):
    for eta in (0.0, 0.5, 1.0):
      sigma = float(diffusion.ddim_sigma(schedule, t, t_prev, eta))
      x0 = np.asarray(diffusion.predict_x0(schedule, xt, jnp.full((6,), t), eps), np.float64)
      expected = reference.ddim_posterior(alpha_bars, x0, np.asarray(xt, np.float64), t, t_prev, sigma) + sigma * z
      np.testing.assert_allclose(diffusion.ddim_step(schedule, xt, t, t_prev, eps, z, eta, clip=None), expected,
                                 rtol=1e-4, atol=1e-4)
  betas = np.asarray(schedule.betas, np.float64)
  for t in (1, STEPS // 2, STEPS - 1):
    np.testing.assert_allclose(float(diffusion.ddim_sigma(schedule, t, t - 1, 1.0)) ** 2,
                               reference.posterior(betas, 0.0, 0.0, t)[1], rtol=1e-4)
    ddpm = diffusion.ddpm_step(schedule, xt[None], jnp.array([t]), eps[None], z[None], clip=None)[0]
    np.testing.assert_allclose(diffusion.ddim_step(schedule, xt, t, t - 1, eps, z, 1.0, clip=None), ddpm, rtol=1e-4,
                               atol=1e-4)


def test_ddim_timesteps_are_an_increasing_subsequence_from_the_first_to_the_last_step():
  taus = diffusion.ddim_timesteps(1000, 50)
  assert len(taus) == 50 and taus[0] == 0 and taus[-1] == 999 and np.all(np.diff(taus) > 0)
  np.testing.assert_array_equal(diffusion.ddim_timesteps(10, 10), np.arange(10))
  quadratic = diffusion.ddim_timesteps(1000, 50, "quadratic")
  assert len(quadratic) == 50 and quadratic[0] == 0 and quadratic[-1] == 999 and np.all(np.diff(quadratic) > 0)
  assert np.all(np.diff(np.diff(quadratic)[5:]) >= 0)  # gaps grow: most steps at low noise
  np.testing.assert_array_equal(diffusion.ddim_timesteps(10, 10, "quadratic"), np.arange(10))
  with pytest.raises(ValueError, match="1 to 1000"):
    diffusion.ddim_timesteps(1000, 1001)


def _oracle(schedule, point):
  """The exact noise predictor of a data set of one point x*:
  eps = (x_t - sqrt(alpha_bar_t) x*) / sqrt(1 - alpha_bar_t)."""
  def eps_fn(x, t):
    ab = schedule.alpha_bars[t].reshape(-1, *([1] * (x.ndim - 1)))
    return (x - jnp.sqrt(ab) * point) / jnp.sqrt(1 - ab)
  return eps_fn


def test_samplers_with_the_exact_noise_of_a_one_point_data_set_return_that_point(schedule):
  point = jnp.linspace(-0.9, 0.9, 12).reshape(3, 4)
  eps_fn = _oracle(schedule, point)
  shape = (5, 3, 4)
  rng = jax.random.PRNGKey(0)
  assert float(diffusion.simple_loss(eps_fn, schedule, jnp.broadcast_to(point, shape), rng).max()) < 1e-8
  zero = diffusion.simple_loss(lambda x, t: jnp.zeros_like(x), schedule, jnp.zeros((256, 16)), rng)
  assert abs(float(zero.mean()) - 1.0) < 0.05  # E||eps||^2 per dimension
  samples = [diffusion.ddpm_sample(eps_fn, schedule, shape, rng)]
  samples += [diffusion.ddim_sample(eps_fn, schedule, shape, rng, steps=10, eta=eta) for eta in (0.0, 1.0)]
  for x in samples:
    np.testing.assert_allclose(x, jnp.broadcast_to(point, shape), atol=1e-4)


def test_v_is_salimans_and_hos_velocity_and_converts_back_to_the_noise_and_the_image(schedule):
  rng = np.random.default_rng(3)
  x0, noise = (jnp.asarray(rng.uniform(-1, 1, (STEPS, 6)), jnp.float32) for _ in range(2))
  t = jnp.arange(STEPS)
  ab = np.asarray(schedule.alpha_bars, np.float64)[:, None]
  v = diffusion.velocity(schedule, x0, t, noise)
  np.testing.assert_allclose(v, np.sqrt(ab) * noise - np.sqrt(1 - ab) * x0, atol=1e-6)
  x_t = diffusion.q_sample(schedule, x0, t, noise)
  np.testing.assert_allclose(diffusion.eps_from_velocity(schedule, x_t, t, v), noise, atol=1e-5)
  np.testing.assert_allclose(np.sqrt(ab) * x_t - np.sqrt(1 - ab) * v, x0, atol=1e-5)  # and x_0 from (x_t, v)


def test_v_loss_is_zero_for_the_exact_velocity_and_e_v_squared_for_a_zero_prediction(schedule):
  point = jnp.full((16,), 0.5)
  eps_fn = _oracle(schedule, point)
  def v_fn(x, t):
    ab = schedule.alpha_bars[t][:, None]
    return jnp.sqrt(ab) * eps_fn(x, t) - jnp.sqrt(1 - ab) * point
  x0 = jnp.broadcast_to(point, (256, 16))
  rng = jax.random.PRNGKey(0)
  assert float(diffusion.simple_loss(v_fn, schedule, x0, rng, "v").max()) < 1e-8
  zero = diffusion.simple_loss(lambda x, t: jnp.zeros_like(x), schedule, x0, rng, "v")
  ab = float(np.mean(schedule.alpha_bars))
  assert abs(float(zero.mean()) - (ab + (1 - ab) * 0.25)) < 0.05  # E[v^2] = alpha_bar + (1 - alpha_bar) x_0^2
  with pytest.raises(ValueError, match="choose one of eps, v"):
    diffusion.simple_loss(v_fn, schedule, x0, rng, "x0")


def test_ddim_with_eta_0_maps_the_same_noise_to_the_same_image_and_eta_1_does_not(schedule):
  eps_fn = lambda x, t: 0.5 * x  # noqa: E731
  shape = (2, 8)
  x_T = jax.random.normal(jax.random.PRNGKey(9), shape)
  a, b = (diffusion.ddim_sample(eps_fn, schedule, shape, jax.random.PRNGKey(seed), steps=10, x_T=x_T, clip=None)
          for seed in (0, 1))
  np.testing.assert_array_equal(a, b)
  c, d = (diffusion.ddim_sample(eps_fn, schedule, shape, jax.random.PRNGKey(seed), steps=10, eta=1.0, x_T=x_T,
                                clip=None) for seed in (0, 1))
  assert float(jnp.abs(c - d).max()) > 1e-2


def test_classifier_free_guidance_is_1_plus_w_conditional_minus_w_unconditional():
  labels, null = jnp.array([0, 3]), 10
  eps_fn = lambda x, t, y: x * (y[:, None] + 1.0) + t[:, None]  # noqa: E731
  x, t = jnp.ones((2, 3)), jnp.array([4, 5])
  for w in (0.0, 1.0, 3.0):
    guided = diffusion.classifier_free(eps_fn, labels, null, w)(x, t)
    expected = (1 + w) * eps_fn(x, t, labels) - w * eps_fn(x, t, jnp.full_like(labels, null))
    np.testing.assert_allclose(guided, expected, rtol=1e-6)


def test_classifier_guidance_shifts_the_noise_against_the_classifiers_gradient(schedule):
  means = jnp.array([[1.0, -1.0], [-2.0, 0.5]])
  log_prob = lambda x, t, y: -0.5 * jnp.sum((x - means[y]) ** 2, axis=-1)  # noqa: E731  gradient: means[y] - x
  eps_fn = lambda x, t: 0.1 * x  # noqa: E731
  x, t, labels, scale = jnp.array([[0.3, 0.2], [0.1, -0.4]]), jnp.array([3, 30]), jnp.array([1, 0]), 2.0
  guided = diffusion.classifier_guided(eps_fn, log_prob, schedule, labels, scale)(x, t)
  expected = eps_fn(x, t) - scale * jnp.sqrt(1 - schedule.alpha_bars[t])[:, None] * (means[labels] - x)
  np.testing.assert_allclose(guided, expected, rtol=1e-5)
