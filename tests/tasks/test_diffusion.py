"""Diffusion (`--task=diffusion`): classifier-free training's label dropout, the settings' checks, v sampling,
and a tiny conditional DiT trained through the loop then sampled by `--mode=sample` with DDIM and guidance."""

import dataclasses
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl import diffusion, modes
from jaxdl.config import Config
from jaxdl.errors import UsageError
from jaxdl.models.dit import DiT
from jaxdl.tasks.diffusion import Diffusion
from jaxdl.train import loop

RNG = np.random.default_rng(0)
BATCH = {"image": RNG.uniform(size=(8, 4, 4, 1)).astype(np.float32), "label": np.arange(8) % 3}
MODEL = DiT(patch_size=2, width=16, depth=1, num_heads=2, num_classes=3)


@pytest.fixture(scope="module")
def initial_params():
  return jax.jit(Diffusion(MODEL, 3, steps=20, conditional=True).init)(jax.random.PRNGKey(0), BATCH)["params"]


@pytest.mark.parametrize("dropout,trained_rows", [(0.0, [0, 1, 2]), (1.0, [3])])
def test_label_dropout_trains_the_no_label_row_and_only_it_when_every_label_is_dropped(initial_params, dropout,
                                                                                       trained_rows):
  """Label 3 of 3 classes is "no label": with dropout 0 its embedding gets no gradient, with dropout 1 it is
  the only row that does (the unconditional model classifier-free guidance needs)."""
  task = Diffusion(MODEL, 3, steps=20, conditional=True, label_dropout=dropout)
  params = jax.tree.map(lambda x: x + 0.05 * jnp.asarray(RNG.standard_normal(x.shape), x.dtype), initial_params)
  grads = jax.jit(jax.grad(lambda p: task.loss_fn(p, {}, BATCH, jax.random.PRNGKey(1))[0]))(params)
  row_norms = np.abs(np.asarray(grads["label"]["embedding"]["embedding"])).sum(axis=1)
  assert sorted(np.flatnonzero(row_norms > 0)) == trained_rows


def test_a_zero_initialized_denoiser_starts_at_the_expected_loss_and_settings_are_checked(initial_params):
  # adaLN-Zero: every block starts as the identity and the head at zero, so the first prediction is no noise
  np.testing.assert_array_equal(MODEL.apply({"params": initial_params}, BATCH["image"], jnp.arange(8), BATCH["label"]),
                                0.0)
  task = Diffusion(MODEL, 3, steps=20, conditional=True)
  batch = {"image": RNG.uniform(size=(512, 4, 4, 1)).astype(np.float32), "label": np.zeros(512, int)}
  eval_fn = jax.jit(task.eval_fn)
  losses = eval_fn(initial_params, {}, batch)["loss"]
  assert abs(float(losses.mean()) - task.expected_initial_loss()) < 0.05
  np.testing.assert_array_equal(losses, eval_fn(initial_params, {}, batch)["loss"])  # the same noise every time
  v_task = Diffusion(MODEL, 3, steps=20, conditional=True, prediction="v")  # regresses v: E[v^2] for no prediction
  alpha_bar = float(np.mean(v_task.noise_schedule.alpha_bars))
  x0_squared = float(np.mean((2 * batch["image"] - 1) ** 2))
  v_losses = jax.jit(v_task.eval_fn)(initial_params, {}, batch)["loss"]
  assert abs(float(v_losses.mean()) - (alpha_bar + (1 - alpha_bar) * x0_squared)) < 0.05
  for settings, message in ((dict(guidance=2.0), "guidance needs conditional=true"),
                            (dict(sampler="ddim", sample_steps=30), "sample_steps=30 exceeds the 20 noise steps"),
                            (dict(schedule="sigmoid"), "choose one of: linear, cosine"),
                            (dict(sampler="euler"), "choose one of: ddpm, ddim"),
                            (dict(prediction="x0"), "choose one of: eps, v")):
    with pytest.raises(UsageError, match=message):
      Diffusion(MODEL, 3, steps=20, **settings)


def test_a_v_denoiser_samples_with_the_noise_its_v_implies(initial_params):
  """The zero-initialized DiT predicts v = 0, whose noise is sqrt(1 - alpha_bar_t) x_t: generate (guided, so the
  v's are mixed first) must equal DDIM run on that noise directly."""
  task = Diffusion(MODEL, 3, steps=20, conditional=True, prediction="v", sampler="ddim", sample_steps=5,
                   guidance=1.0)
  rng, shape = jax.random.PRNGKey(2), (4, 4, 4, 1)
  images = jax.jit(task.generate, static_argnums=2)(initial_params, rng, shape, jnp.arange(4) % 3)
  schedule = task.noise_schedule
  eps_fn = lambda x, t: jnp.sqrt(1 - schedule.alpha_bars[t]).reshape(-1, 1, 1, 1) * x  # noqa: E731
  expected = jnp.clip((diffusion.ddim_sample(eps_fn, schedule, shape, rng, steps=5) + 1) / 2, 0.0, 1.0)
  np.testing.assert_allclose(images, expected, atol=1e-5)


def test_a_conditional_dit_trains_through_the_loop_is_judged_and_samples_a_labelled_grid(tmp_path):
  """The shipped digits judge scores 20 samples after training (a judge run of one's own: the VAE's test);
  --mode=sample draws the grid with DDIM and guidance; --mode=quality scores the best checkpoint again."""
  common = dict(data="digits", data_args="image_size=8", batch_size=32, log_every=20)
  config = Config(model="dit", model_args="width=16,depth=1,num_heads=2", task="diffusion",
                  task_args="steps=50,conditional=true,sampler=ddim,sample_steps=10,guidance=1.0,"
                            "judge=jaxdl:digits,quality_samples=20",
                  optim="adamw", lr=3e-3, steps=24, eval_every=24, checkpoint_every=24, **common)
  final = loop.train_and_evaluate(config, str(tmp_path / "run"))["final"]
  assert final["val_loss"] < 0.6  # from 1.0, the loss of predicting no noise
  assert 0 <= final["label_accuracy"] <= 1 and np.isfinite(final["frechet_distance"]) \
      and final["frechet_distance"] > 0
  text = modes.MODES["sample"].run(config, str(tmp_path / "run"))
  assert "20 samples (DDIM, 10 steps, eta 0.0, guidance w=1.0)" in text
  assert (tmp_path / "run" / "plots" / "samples.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  # the same samples again (the sampler compiled once, the persistent cache hits), from the best checkpoint
  assert re.fullmatch(r"step 24: frechet_distance=\d+\.\d+ label_accuracy=[01]\.\d+",
                      modes.MODES["quality"].run(config, str(tmp_path / "run")))
  two_draws = modes.MODES["quality"].run(
      dataclasses.replace(config, task_args=config.task_args + ",quality_draws=2"), str(tmp_path / "run"))
  assert re.fullmatch(r"step 24: frechet_distance=\d+\.\d+ frechet_distance_std=\d+\.\d+ label_accuracy=[01]\.\d+",
                      two_draws)
  with pytest.raises(UsageError, match="computed nothing; give it a judge"):
    modes.MODES["quality"].run(dataclasses.replace(config, task_args="steps=50,conditional=true"),
                               str(tmp_path / "run"))
  with pytest.raises(UsageError, match="no jaxdl run there .* train the judge first"):
    loop.train_and_evaluate(dataclasses.replace(config, task_args=f"judge={tmp_path / 'none'}"),
                            str(tmp_path / "other"))
