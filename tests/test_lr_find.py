"""--mode=lr_find (the LR range test through the ordinary loop) and the linear LR-scaling rule."""

import json
import math

import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl import modes, optim
from jaxdl.modes import lr_find
from jaxdl.config import Config, load_flagfile
from jaxdl.train.setup import build_optimizer, effective_lr
from tests.conftest import REPO


def test_the_range_tests_schedule_grows_exponentially_to_growth_times_the_rate():
  schedule = optim.schedule("range_test", 1e-6, 100, growth=1e6)
  np.testing.assert_allclose([float(schedule(c)) for c in (0, 50, 100)], [1e-6, 1e-3, 1.0], rtol=1e-5)


def test_the_suggestion_is_a_tenth_of_the_smoothed_minimum_and_the_steepest_fall_comes_before_it():
  rates = np.geomspace(1e-6, 10, 200)
  losses = (np.log10(rates) + 2) ** 2 / 10 + 1  # lowest at 1e-2
  losses[170:] = 1e3  # the blow-up after it
  found = lr_find.suggest(rates, losses)
  # The moving average lags the curve by about 0.9 / (1 - 0.9) = 9 points, 0.32 decades here: its minimum comes
  # that much after the loss's own.
  assert 1e-2 < found["min_loss_lr"] < 1e-2 * 10 ** 0.4
  assert found["suggested_lr"] == pytest.approx(found["min_loss_lr"] / 10)
  assert found["steepest_lr"] < found["min_loss_lr"]
  np.testing.assert_allclose(lr_find.smoothed([2.0, 2.0, 2.0]), 2.0)  # debiased: no pull towards 0


def test_lr_find_runs_the_experiment_with_a_growing_rate_and_writes_its_curve(tmp_path):
  config = load_flagfile(f"{REPO}/experiments/digits_linear_svm.flags", steps=60)
  text = modes.MODES["lr_find"].run(config, str(tmp_path))
  report = json.loads((tmp_path / "lr_find.json").read_text())
  rates = np.array(report["lr"])
  assert rates[0] == pytest.approx(lr_find.LR_START) and np.all(np.diff(rates) > 0) and len(rates) <= 60
  assert rates[0] <= report["min_loss_lr"] <= rates[-1] and f"suggested --lr={report['suggested_lr']:.3g}" in text
  assert (tmp_path / "plots" / "lr_find.png").read_bytes()[:4] == b"\x89PNG"
  assert all(math.isfinite(loss) for loss in report["loss"])


def test_the_linear_scaling_rule_scales_the_rate_with_the_batch():
  config = Config(optim="sgd", lr=0.1, batch_size=256, lr_batch_size=64)
  assert effective_lr(config) == pytest.approx(0.4) and effective_lr(Config(lr=0.1)) == 0.1
  tx = build_optimizer(config)
  params = {"w": jnp.zeros(3)}
  updates, _ = tx.update({"w": jnp.ones(3)}, tx.init(params), params)
  np.testing.assert_allclose(updates["w"], -0.4)  # plain SGD: the update is -rate x gradient
