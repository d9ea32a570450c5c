"""Distillation (`--task=distill`): DeiT's hard and soft losses, and a student trained from a teacher run's
checkpoint end to end, with the vision-Transformer modes (attention maps, summary) on the result."""

import dataclasses

import jax
import numpy as np
import optax
import pytest

from jaxdl import losses, modes
from jaxdl.config import Config
from jaxdl.errors import UsageError
from jaxdl.models.vit import ViT
from jaxdl.tasks.distill import Distill
from jaxdl.train import loop

RNG = np.random.default_rng(0)
LOGITS = RNG.standard_normal((6, 4)).astype(np.float32)
LABELS = np.array([0, 1, 2, 3, 1, 2])


def test_hard_distillation_from_a_teacher_that_knows_the_labels_is_cross_entropy():
  """Teacher scores one-hot in the labels: its argmax is the label, so 1/2 CE + 1/2 CE(teacher) is plain CE."""
  task = Distill(None, 4, teacher="unused")
  teacher = jax.nn.one_hot(LABELS, 4)
  np.testing.assert_allclose(task.distillation_loss(LOGITS, LOGITS, teacher, LABELS),
                             optax.softmax_cross_entropy_with_integer_labels(LOGITS, LABELS), rtol=1e-6)


def test_deit_students_loss_through_the_task_averages_both_heads_cross_entropy():
  """The task's own loss_fn on a DeiT student: the distillation head learns the teacher's labels (here the true
  ones), so the loss is the mean of the two heads' cross-entropies."""
  model = ViT(patch_size=4, width=16, depth=1, num_heads=2, num_classes=4, distilled=True)
  images = RNG.uniform(size=(6, 8, 8, 1)).astype(np.float32)
  images[:, 0, 0, 0] = LABELS  # the teacher reads the label off the first pixel
  task = Distill(model, 4, teacher="unused", teacher_logits=lambda x: jax.nn.one_hot(x[:, 0, 0, 0].astype(int), 4))
  params = jax.tree.map(lambda x: x + 0.1 * RNG.standard_normal(x.shape).astype(x.dtype),
                        jax.jit(model.init)(jax.random.PRNGKey(0), images)["params"])
  batch = {"image": images, "label": LABELS}
  loss, _ = jax.jit(task.loss_fn)(params, {}, batch, jax.random.PRNGKey(1))
  logits, (distill,) = jax.jit(lambda p: model.apply({"params": p}, images, train=True))(params)
  expected = (optax.softmax_cross_entropy_with_integer_labels(logits, LABELS)
              + optax.softmax_cross_entropy_with_integer_labels(distill, LABELS)).mean() / 2
  np.testing.assert_allclose(loss, expected, rtol=1e-5)


def test_soft_distillation_is_tau_squared_kl_at_temperature():
  teacher = RNG.standard_normal((6, 4)).astype(np.float32)
  tau = 2.0
  p = np.exp(teacher / tau) / np.exp(teacher / tau).sum(-1, keepdims=True)
  log_q = LOGITS / tau - np.log(np.exp(LOGITS / tau).sum(-1, keepdims=True))
  np.testing.assert_allclose(losses.distillation_kl(LOGITS, teacher, tau), tau ** 2 * (p * (np.log(p) - log_q)).sum(-1),
                             rtol=1e-5, atol=1e-6)  # float32 against float64: a sum of terms that cancel
  np.testing.assert_allclose(losses.distillation_kl(teacher, teacher, tau), 0.0, atol=1e-6)
  task = Distill(None, 4, teacher="unused", kind="soft", alpha=0.25, temperature=tau)
  np.testing.assert_allclose(
      task.distillation_loss(LOGITS, LOGITS, teacher, LABELS),
      0.75 * optax.softmax_cross_entropy_with_integer_labels(LOGITS, LABELS)
      + 0.25 * losses.distillation_kl(LOGITS, teacher, tau), rtol=1e-5)


def test_distill_settings_are_checked():
  with pytest.raises(UsageError, match="needs --task_args=teacher=RUN_DIR"):
    Distill(None, 4).loss_fn({}, {}, {"image": np.zeros((1, 8, 8, 1))}, None)
  with pytest.raises(UsageError, match="kind='warm'; choose one of: hard, soft"):
    Distill(None, 4, teacher="x", kind="warm")


def test_a_deit_student_learns_from_a_teacher_run_and_its_attention_is_drawn(tmp_path):
  """Teacher: a few steps of a small MLP (the slow test_experiments one is a digits ResNet18); student: a tiny
  DeiT reading that run's best checkpoint. Then
  `--mode=attention_maps` draws the student's class-token rollout and `--mode=summary` tables it."""
  common = dict(data="digits", data_args="image_size=8", batch_size=16, steps=4, log_every=2, eval_every=2,
                checkpoint_every=2)
  teacher = Config(model="mlp", model_args="depth=1,width=16", **common)
  loop.train_and_evaluate(teacher, str(tmp_path / "teacher"))
  student = Config(model="vit", model_args="patch_size=2,width=16,depth=1,num_heads=2,distilled=true",
                   task="distill", task_args=f"teacher={tmp_path / 'teacher'},kind=soft", optim="adamw", lr=1e-3,
                   **common)
  final = loop.train_and_evaluate(student, str(tmp_path / "student"))["final"]
  assert 0 <= final["test_accuracy"] <= 1 and np.isfinite(final["test_loss"])
  assert "attention_maps.png" in modes.MODES["attention_maps"].run(student, str(tmp_path / "student"))
  assert (tmp_path / "student" / "plots" / "attention_maps.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  table = modes.MODES["summary"].run(student, "")
  assert "MultiHeadAttention" in table and table.splitlines()[-1].split()[0] == "total"
  with pytest.raises(UsageError, match="has no class token"):
    modes.MODES["attention_maps"].run(teacher, str(tmp_path / "teacher"))
  missing = dataclasses.replace(student, task_args=f"teacher={tmp_path / 'none'}")
  with pytest.raises(UsageError, match="needs --task_args=teacher=RUN_DIR"):
    loop.train_and_evaluate(dataclasses.replace(student, task_args="kind=soft"), str(tmp_path / "other"))
  with pytest.raises(UsageError, match="no jaxdl run there"):
    loop.train_and_evaluate(missing, str(tmp_path / "other"))
  with pytest.raises(UsageError, match=r"learned from \(8, 8, 1\) images .* this run's are \(16, 16, 1\)"):
    loop.train_and_evaluate(dataclasses.replace(student, data_args="image_size=16"), str(tmp_path / "other"))
