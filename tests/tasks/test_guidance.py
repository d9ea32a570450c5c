"""Classifier guidance end to end: a `--task=noisy_classify` run (the U-Net's encoder told the noise step) is
loaded by a diffusion run's `classifier=RUN_DIR`, whose samples it then steers towards their labels."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl.config import Config
from jaxdl.errors import UsageError
from jaxdl.train import loop
from jaxdl.train.setup import build

COMMON = dict(data="digits", data_args="image_size=8", batch_size=32, log_every=20)


def test_a_noisy_classifier_run_steers_a_diffusion_runs_samples_towards_their_labels(tmp_path):
  classifier = Config(model="unet_classifier", model_args="channels=8,multipliers=(1,2),blocks=1,attention_levels=()",
                      task="noisy_classify", task_args="steps=50", optim="adam", lr=3e-3, steps=2, eval_every=2,
                      **COMMON)
  final = loop.train_and_evaluate(classifier, str(tmp_path / "classifier"))["final"]
  assert np.isfinite(final["val_loss"])  # (what the classifier learns is the experiment's business)
  config = Config(model="dit", model_args="width=16,depth=1,num_heads=2", task="diffusion",
                  task_args=f"steps=50,sampler=ddim,sample_steps=5,classifier={tmp_path / 'classifier'},"
                            "classifier_scale=100", **COMMON)
  setup = build(config)
  task = setup.task
  assert task.labelled and task.classifier_fn is not None
  images = setup.dataset.splits["train"].read(np.arange(20))["image"]
  shapes = jax.eval_shape(task.init, jax.random.PRNGKey(0), {"image": images, "label": None})["params"]
  rng = np.random.default_rng(0)  # a denoiser's parameters drawn on the host: any eps model can be guided
  params = jax.tree.map(lambda x: 0.1 * rng.standard_normal(x.shape).astype(np.float32), shapes)
  labels = jnp.arange(20) % 10

  @jax.jit
  def log_prob_of_samples(params):
    """The classifier's mean log p(label | x_0) of 20 samples, guided and not, from the same noise."""
    key = jax.random.PRNGKey(1)
    return [task.classifier_fn(2 * sampled - 1, jnp.zeros(20, jnp.int32), labels).mean()
            for sampled in (t.generate(params, key, images.shape, labels)
                            for t in (task, dataclasses.replace(task, classifier_fn=None)))]

  guided, unguided = log_prob_of_samples(params)
  assert guided > unguided + 0.25
  with pytest.raises(UsageError, match="learned on another noise schedule"):
    build(dataclasses.replace(config, task_args=config.task_args.replace("steps=50,", "steps=50,schedule=cosine,")))
