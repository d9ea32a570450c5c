"""NumPy diffusion formulas as the papers print them (alpha_bar in DDPM's notation; DDIM's paper calls it alpha)."""

import numpy as np


def forward_moments(betas, t):
  """Mean coefficient and variance of x_t given x_0, by iterating q(x_s | x_{s-1}) = N(sqrt(1 - beta_s) x_{s-1},
  beta_s I) for s = 0..t: x_s = sqrt(1 - beta_s) x_{s-1} + sqrt(beta_s) eps_s."""
  coefficient, variance = 1.0, 0.0
  for beta in betas[:t + 1]:
    coefficient *= np.sqrt(1 - beta)
    variance = (1 - beta) * variance + beta
  return coefficient, variance


def posterior(betas, x0, xt, t):
  """Ho et al.'s eq. 6-7: q(x_{t-1} | x_t, x_0) = N(mu~, beta~ I) for one step index t (0-based)."""
  alpha_bars = np.cumprod(1 - betas)
  ab, ab_prev = alpha_bars[t], (alpha_bars[t - 1] if t > 0 else 1.0)
  mean = np.sqrt(ab_prev) * betas[t] / (1 - ab) * x0 + np.sqrt(1 - betas[t]) * (1 - ab_prev) / (1 - ab) * xt
  return mean, (1 - ab_prev) / (1 - ab) * betas[t]


def ddpm_algorithm2(betas, xt, t, eps, z):
  """Ho et al.'s Algorithm 2, line 4: x_{t-1} = (x_t - beta_t / sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_t)
  + sigma_t z, with sigma_t^2 = beta~_t (and no noise at the last step)."""
  alpha_bars = np.cumprod(1 - betas)
  sigma = np.sqrt(posterior(betas, 0.0, 0.0, t)[1]) if t > 0 else 0.0
  return (xt - betas[t] / np.sqrt(1 - alpha_bars[t]) * eps) / np.sqrt(1 - betas[t]) + sigma * z


def ddim_posterior(alpha_bars, x0, xt, t, t_prev, sigma):
  """Song et al.'s eq. 7: q_sigma(x_prev | x_t, x_0) = N(sqrt(a_prev) x_0 + sqrt(1 - a_prev - sigma^2)
  (x_t - sqrt(a_t) x_0) / sqrt(1 - a_t), sigma^2 I); t_prev = -1 means a_prev = 1."""
  a, a_prev = alpha_bars[t], (alpha_bars[t_prev] if t_prev >= 0 else 1.0)
  return np.sqrt(a_prev) * x0 + np.sqrt(1 - a_prev - sigma ** 2) * (xt - np.sqrt(a) * x0) / np.sqrt(1 - a)
