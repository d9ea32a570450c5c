"""Checkpoint retention: the last k plus the best by the monitored metric."""

import jax.numpy as jnp

from jaxdl.train.checkpoint import Checkpoints


def test_keeps_the_last_k_and_the_best(tmp_path):
  ckpt = Checkpoints(str(tmp_path), keep=2, monitor="val_accuracy", monitor_mode="max")
  accuracy = {10: 0.5, 20: 0.9, 30: 0.6, 40: None, 50: 0.7}
  for step, acc in accuracy.items():
    ckpt.save(step, {"w": jnp.full((3,), float(step))}, {"next_index": step},
              None if acc is None else {"val_accuracy": acc})
    ckpt.wait()
  assert ckpt.all_steps() == [20, 40, 50]
  assert ckpt.best_step() == 20
  state, data_state = ckpt.restore(20, {"w": jnp.zeros((3,))})
  assert float(state["w"][0]) == 20.0 and data_state == {"next_index": 20}
  ckpt.close()


def test_lower_is_better_when_monitoring_a_loss(tmp_path):
  ckpt = Checkpoints(str(tmp_path), keep=1, monitor="val_loss", monitor_mode="min")
  for step, loss in ((1, 0.3), (2, 0.1), (3, 0.2)):
    ckpt.save(step, {"w": jnp.zeros(())}, {}, {"val_loss": loss})
    ckpt.wait()
  assert ckpt.all_steps() == [2, 3]
  ckpt.close()
