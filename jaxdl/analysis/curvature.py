"""The loss's curvature at a point: Hessian-vector products (forward-over-reverse, never the Hessian itself)
and its extreme eigenvalues by Lanczos iteration, hence a condition-number estimate.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree


def hvp(loss_fn: Callable, params, vector):
  """H v for H the Hessian of `loss_fn` at `params` (v shaped like params): the JVP of the gradient."""
  return jax.jvp(jax.grad(loss_fn), (params,), (vector,))[1]


def lanczos(loss_fn: Callable, params, iterations: int, rng) -> np.ndarray:
  """The Ritz values (ascending) of `iterations` Lanczos steps on the Hessian at `params`, with full
  reorthogonalization (in float64 on the host): the extreme ones converge to the Hessian's extreme
  eigenvalues first, and with as many steps as parameters they are its whole spectrum."""
  flat, unravel = ravel_pytree(params)
  matvec = jax.jit(lambda v: ravel_pytree(hvp(loss_fn, params, unravel(v.astype(flat.dtype))))[0])
  basis = np.zeros((iterations, flat.size))
  alphas, betas = np.zeros(iterations), np.zeros(iterations)
  v = np.array(jax.random.normal(rng, flat.shape), np.float64)
  v /= np.linalg.norm(v)
  for i in range(iterations):
    basis[i] = v
    w = np.array(matvec(jnp.asarray(v)), np.float64)
    alphas[i] = w @ v
    w -= basis[:i + 1].T @ (basis[:i + 1] @ w)  # orthogonal to every earlier vector, twice for stability
    w -= basis[:i + 1].T @ (basis[:i + 1] @ w)
    betas[i] = np.linalg.norm(w)
    if betas[i] < 1e-10:  # an invariant subspace: its eigenvalues are exact
      alphas, betas = alphas[:i + 1], betas[:i + 1]
      break
    v = w / betas[i]
  tridiagonal = np.diag(alphas) + np.diag(betas[:-1], 1) + np.diag(betas[:-1], -1)
  return np.linalg.eigvalsh(tridiagonal)


def condition_number(ritz_values: np.ndarray) -> float:
  """lambda_max / lambda_min of the estimated spectrum; infinite when the smallest is not positive (a saddle or
  a flat direction)."""
  return float(ritz_values[-1] / ritz_values[0]) if ritz_values[0] > 0 else float("inf")
