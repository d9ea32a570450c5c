"""GANs (`--task=gan`): the minimax and non-saturating losses as the notes write them, each network updated by
its own loss only with its own optimizer state, and a conditional DCGAN through the loop: sampled and resumed
to the same bits."""

import dataclasses

import jax
import numpy as np
import optax
import pytest

from jaxdl import modes
from jaxdl.config import Config
from jaxdl.errors import UsageError
from jaxdl.models.gan import DCGAN
from jaxdl.tasks.gan import GAN, discriminator_loss, generator_loss
from jaxdl.train import loop

RNG = np.random.default_rng(0)


def test_losses_are_the_notes_and_the_non_saturating_one_keeps_its_gradient_when_d_wins():
  real, fake = RNG.standard_normal((2, 6)).astype(np.float32)
  d = lambda s: 1 / (1 + np.exp(-s.astype(np.float64)))  # noqa: E731
  np.testing.assert_allclose(discriminator_loss(real, fake), -(np.log(d(real)) + np.log(1 - d(fake))), rtol=1e-5)
  np.testing.assert_allclose(generator_loss(fake, "minimax"), np.log(1 - d(fake)), rtol=1e-5)
  np.testing.assert_allclose(generator_loss(fake, "non_saturating"), -np.log(d(fake)), rtol=1e-5)
  # D confidently rejects the sample (D(G(z)) = sigmoid(-6)): minimax's gradient all but vanishes
  minimax, saturating_not = (float(jax.grad(lambda s: generator_loss(s, kind))(-6.0))
                             for kind in ("minimax", "non_saturating"))
  assert abs(minimax) < 0.003 and abs(saturating_not) > 0.99
  # one-sided label smoothing: D's loss on a real image is least where D(x) = 1 - smoothing, not at D(x) -> 1
  real_grad = jax.grad(lambda s: discriminator_loss(s, 0.0, smoothing=0.1))
  assert float(real_grad(float(np.log(0.9 / 0.1)))) == pytest.approx(0.0, abs=1e-6)
  assert float(real_grad(6.0)) > 0 > float(discriminator_loss(6.0, 0.0) - discriminator_loss(6.0, 0.0, 0.1))
  with pytest.raises(UsageError, match="choose one of: non_saturating, minimax"):
    GAN(DCGAN(), 10, loss="wasserstein")


def test_each_network_gets_the_gradient_of_its_own_loss_and_keeps_its_own_optimizer_state():
  task = GAN(DCGAN(latent=4, features=4), 10, conditional=True)
  batch = {"image": RNG.uniform(size=(4, 8, 8, 1)).astype(np.float32), "label": np.array([0, 1, 2, 3])}
  # parameters of init's shapes drawn on the host: compiling init would only add a compile
  params = jax.tree.map(lambda x: 0.1 * RNG.standard_normal(x.shape).astype(np.float32),
                        jax.eval_shape(task.init, jax.random.PRNGKey(0), batch)["params"])
  rng = jax.random.PRNGKey(1)
  grads, (metrics, _) = jax.jit(task.grad_fn)(params, {}, batch, rng)

  r1 = dataclasses.replace(task, r1=3.0)

  @jax.jit
  def reference(params):
    """Each network's gradient of its own loss, the other network held fixed; D's loss without and with R1;
    the gradient of D's logit of each real image with respect to that image alone."""
    grads = {which: jax.grad(lambda p: task._losses({**params, which: p}, batch, rng)[index].mean())(params[which])
             for which, index in (("discriminator", 0), ("generator", 1))}
    logit = lambda image, label: task.model.apply({"params": params}, image[None], label[None],  # noqa: E731
                                                  method="discriminate")[0]
    slopes = jax.vmap(jax.grad(logit))(batch["image"], batch["label"])
    return grads, task._losses(params, batch, rng)[0], r1._losses(params, batch, rng)[0], slopes

  own, without, with_r1, slopes = reference(params)
  for got, expected in zip(jax.tree.leaves(grads), jax.tree.leaves(own)):
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
  assert float(metrics["loss"]) == pytest.approx(float(without.mean()), rel=1e-5)
  # R1 adds gamma/2 ||grad_x D-logit(x)||^2 of each real image to D's loss
  np.testing.assert_allclose(with_r1, without + 1.5 * np.square(np.asarray(slopes)).reshape(4, -1).sum(-1),
                             rtol=1e-5)
  tx = task.optimizer(optax.adam(1e-3))
  state = jax.jit(tx.init)(params)  # (eagerly, each small op of each leaf would compile on its own)
  updates, state = jax.jit(tx.update)(grads, state, params)
  assert set(state.inner_states) == {"generator", "discriminator"}
  assert all(np.abs(np.asarray(u)).max() > 0 for u in jax.tree.leaves(updates))


def test_a_cgan_trains_samples_a_labelled_grid_and_resumes_to_the_same_bits(tmp_path):
  """(Judging samples is the generators' shared code, tested with the diffusion and VAE tasks.)"""
  config = Config(data="digits", data_args="image_size=8", batch_size=32, model="dcgan",
                  model_args="latent=8,features=8", task="gan", task_args="conditional=true,samples=20",
                  optim="adam", lr=2e-4, optim_args="b1=0.5", steps=6, log_every=3, eval_every=6, checkpoint_every=3)
  whole = loop.train_and_evaluate(config, str(tmp_path / "whole"))
  assert 0 < whole["final"]["val_d_real"] < 1 and np.isfinite(whole["final"]["val_generator_loss"])
  loop.train_and_evaluate(dataclasses.replace(config, steps=3), str(tmp_path / "resumed"))
  resumed = loop.train_and_evaluate(config, str(tmp_path / "resumed"))
  assert resumed["params_fingerprint"] == whole["params_fingerprint"]
  assert "20 samples" in modes.MODES["sample"].run(config, str(tmp_path / "whole"))
  assert (tmp_path / "whole" / "plots" / "samples.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  # a grid per evaluation (eval_every=6), from the same noise each time
  assert sorted(p.name for p in (tmp_path / "whole" / "plots" / "samples").iterdir()) == ["step_000006.png"]
