"""Autoencoders (`--task=autoencode`) and the VAE (`--task=vae`): the KL term against NumPy and a Monte-Carlo
estimate, the reparameterization trick, the sparsity and denoising variants, and a VAE trained through the loop
whose `--mode=sample` writes prior samples, reconstructions and a latent walk."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

from jaxdl import losses, modes
from jaxdl.config import Config
from jaxdl.errors import UsageError
from jaxdl.models.autoencoder import Autoencoder
from jaxdl.tasks.autoencode import Autoencode, corrupt
from jaxdl.tasks.vae import VAE, reparameterize
from jaxdl.train import loop
from tests.reference import losses as reference

RNG = np.random.default_rng(0)
IMAGES = RNG.uniform(size=(6, 4, 4, 1)).astype(np.float32)


def test_gaussian_kl_is_the_closed_form_and_matches_a_monte_carlo_estimate():
  mean, log_variance = RNG.standard_normal((2, 5, 3))
  closed = np.asarray(losses.gaussian_kl(jnp.asarray(mean), jnp.asarray(log_variance)))
  np.testing.assert_allclose(closed, reference.gaussian_kl(mean, log_variance), rtol=1e-5)
  sigma = np.exp(0.5 * log_variance[0])
  z = mean[0] + sigma * RNG.standard_normal((200_000, 3))
  log_q = scipy.stats.norm.logpdf(z, mean[0], sigma).sum(-1)
  log_p = scipy.stats.norm.logpdf(z).sum(-1)
  estimate = log_q - log_p
  assert abs(estimate.mean() - closed[0]) < 4 * estimate.std() / np.sqrt(len(z))


def test_reparameterized_samples_have_the_moments_of_q_and_carry_gradients_to_them():
  mean, log_variance = jnp.array([1.0, -2.0]), jnp.array([0.0, np.log(0.25)])
  z = jax.vmap(lambda k: reparameterize(k, mean, log_variance))(jax.random.split(jax.random.PRNGKey(0), 50_000))
  np.testing.assert_allclose(z.mean(0), mean, atol=0.02)
  np.testing.assert_allclose(z.std(0), [1.0, 0.5], atol=0.02)
  key = jax.random.PRNGKey(1)
  eps = (reparameterize(key, mean, log_variance) - mean) / jnp.exp(0.5 * log_variance)
  d_mean, d_log_variance = jax.grad(lambda m, v: reparameterize(key, m, v).sum(), argnums=(0, 1))(mean, log_variance)
  np.testing.assert_allclose(d_mean, [1.0, 1.0], rtol=1e-6)
  np.testing.assert_allclose(d_log_variance, 0.5 * jnp.exp(0.5 * log_variance) * eps, rtol=1e-5)


def test_sparsity_penalties_and_corruptions():
  code = RNG.standard_normal((8, 5)).astype(np.float32)
  np.testing.assert_allclose(losses.sparsity_kl(jax.nn.sigmoid(code), 0.05),
                             reference.sparsity_kl(np.asarray(jax.nn.sigmoid(code), np.float64), 0.05), rtol=1e-5)
  l1 = Autoencode(Autoencoder(), 10, sparsity="l1", sparsity_weight=0.1)
  np.testing.assert_allclose(l1.penalty(code), 0.1 * np.abs(code).sum(-1).mean(), rtol=1e-6)
  key, ones = jax.random.PRNGKey(0), jnp.ones((200, 10, 10, 1))
  assert abs(float((corrupt(key, ones, "mask", 0.3) == 0).mean()) - 0.3) < 0.02
  np.testing.assert_array_equal(corrupt(key, IMAGES, "gaussian", 0.0), IMAGES)
  noisy = corrupt(key, IMAGES, "gaussian", 0.3)
  assert float(jnp.abs(noisy - IMAGES).max()) > 0.1 and float(noisy.min()) >= 0 and float(noisy.max()) <= 1
  with pytest.raises(UsageError, match="sparsity='l2'; choose one of: none, l1, kl"):
    Autoencode(Autoencoder(), 10, sparsity="l2")
  with pytest.raises(UsageError, match="--task=vae needs a Gaussian encoder"):
    VAE(Autoencoder(), 10).init(key, {"image": IMAGES})
  with pytest.raises(UsageError, match="a variational model trains with --task=vae"):
    Autoencode(Autoencoder(variational=True), 10)


def test_denoising_autoencoder_encodes_the_corrupted_image_and_scores_against_the_clean_one():
  model = Autoencoder(hidden=(8,), latent=3)
  params = model.init(jax.random.PRNGKey(0), IMAGES)["params"]
  task = Autoencode(model, 10, noise="mask", noise_level=0.5)
  key = jax.random.PRNGKey(3)
  loss, (metrics, _) = task.loss_fn(params, {}, {"image": IMAGES}, key)
  expected = losses.bernoulli_nll(model.apply({"params": params}, corrupt(key, IMAGES, "mask", 0.5)), IMAGES).mean()
  np.testing.assert_allclose(loss, expected, rtol=1e-6)
  np.testing.assert_allclose(metrics["reconstruction"], expected, rtol=1e-6)
  samples = task.sample_fn(params, {}, key, "", examples={"image": IMAGES})
  assert samples.images.shape == (12, 4, 4, 1) and samples.captions[:2] == ("input", "reconstruction")


@pytest.mark.parametrize("beta", [0.0, 1.0, 4.0])
def test_vae_loss_is_reconstruction_plus_beta_kl(beta):
  model = Autoencoder(hidden=(8,), latent=3, variational=True)
  params = model.init(jax.random.PRNGKey(0), IMAGES)["params"]
  task = VAE(model, 10, beta=beta)
  loss, (metrics, _) = task.loss_fn(params, {}, {"image": IMAGES}, jax.random.PRNGKey(1))
  np.testing.assert_allclose(loss, metrics["reconstruction"] + beta * metrics["kl"], rtol=1e-6)
  mean, log_variance = model.apply({"params": params}, IMAGES, method="encode")
  np.testing.assert_allclose(metrics["kl"], losses.gaussian_kl(mean, log_variance).mean() / 16, rtol=1e-5)


def test_a_vae_trains_through_the_loop_is_judged_and_draws_its_three_grids(tmp_path):
  common = dict(data="digits", data_args="image_size=8", batch_size=32, log_every=10)
  loop.train_and_evaluate(Config(model="mlp", model_args="depth=1,width=16", steps=4, eval_every=4, **common),
                          str(tmp_path / "judge"))
  config = Config(model="autoencoder", model_args="hidden=(32,),latent=4,variational=true", task="vae",
                  task_args=f"judge={tmp_path / 'judge'},quality_samples=40,samples=8", optim="adam", lr=3e-3,
                  steps=20, eval_every=20, **common)
  summary = loop.train_and_evaluate(config, str(tmp_path / "run"))
  final = summary["final"]
  assert final["val_loss"] < np.log(2)  # better than predicting every pixel as 1/2
  assert np.isclose(final["val_loss"], final["val_reconstruction"] + final["val_kl"], rtol=1e-5)
  assert np.isfinite(final["frechet_distance"]) and "label_accuracy" not in final
  text = modes.MODES["sample"].run(config, str(tmp_path / "run"))
  for name in ("samples", "reconstructions", "interpolation"):
    assert f"plots/{name}.png" in text
    assert (tmp_path / "run" / "plots" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
