"""Hessian-vector products and Lanczos against known spectra and numpy's eigvalsh of jax.hessian."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl.analysis import curvature


@pytest.fixture(autouse=True)
def float64():
  """These checks run in float64 (the process default stays float32)."""
  with jax.enable_x64(True):
    yield


def test_on_a_quadratic_with_a_known_spectrum_lanczos_finds_every_eigenvalue():
  rng = np.random.default_rng(0)
  spectrum = np.array([0.01, 0.5, 1.0, 2.0, 3.0, 7.5, 40.0])
  q, _ = np.linalg.qr(rng.standard_normal((7, 7)))
  a = jnp.asarray(q @ np.diag(spectrum) @ q.T)
  loss = lambda p: 0.5 * p["w"] @ a @ p["w"]  # noqa: E731
  params, v = {"w": jnp.asarray(rng.standard_normal(7))}, {"w": jnp.asarray(rng.standard_normal(7))}
  np.testing.assert_allclose(curvature.hvp(loss, params, v)["w"], a @ v["w"], rtol=1e-10)
  ritz = curvature.lanczos(loss, params, 7, jax.random.PRNGKey(0))
  np.testing.assert_allclose(ritz, spectrum, rtol=1e-8)
  assert curvature.condition_number(ritz) == pytest.approx(4000.0)
  # fewer steps: the extremes come first
  np.testing.assert_allclose(curvature.lanczos(loss, params, 5, jax.random.PRNGKey(1))[-1], 40.0, rtol=1e-3)


def test_a_non_quadratic_2x2_case_equals_eigvalsh_of_jax_hessian():
  loss = lambda p: jnp.sin(p[0]) * p[1] ** 2 + jnp.exp(0.3 * p[0] * p[1])  # noqa: E731
  point = jnp.array([0.4, -1.2])
  expected = np.linalg.eigvalsh(np.asarray(jax.hessian(loss)(point)))
  np.testing.assert_allclose(curvature.lanczos(loss, point, 2, jax.random.PRNGKey(0)), expected, rtol=1e-8)
  assert curvature.condition_number(np.array([-1.0, 2.0])) == float("inf")
