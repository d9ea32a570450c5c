"""Knowledge distillation into a classifier (Hinton et al., 2015), in DeiT's form (Touvron et al., 2021).

The teacher is the best checkpoint (by its validation monitor) of another jaxdl run, any registered
classifier: `--task=distill --task_args=teacher=RUN_DIR,kind=hard`. `jaxdl.train.setup` loads it and sets
`teacher_logits`; it runs in eval mode inside the same jitted step, on the same (augmented) images.
A DeiT-style student returns (class logits, [distillation logits]) in training and their mean in eval; any
other classifier distills through its one head.
"""

import dataclasses
from collections.abc import Callable

import jax

from jaxdl import losses
from jaxdl.args import PositiveFloat, Probability
from jaxdl.errors import UsageError
from jaxdl.registry import tasks
from jaxdl.tasks.classify import Classify

_KINDS = ("hard", "soft")


@tasks.register("distill")
@dataclasses.dataclass(frozen=True)
class Distill(Classify):
  """hard: 1/2 CE(class head, labels) + 1/2 CE(distillation head, the teacher's argmax).
  soft: (1 - alpha) CE(class head, labels) + alpha tau^2 KL(teacher || distillation head), at temperature tau."""

  teacher: str = ""  # a jaxdl run directory
  kind: str = "hard"
  alpha: Probability = 0.5
  temperature: PositiveFloat = 3.0
  teacher_logits: Callable | None = None  # images -> logits; set by jaxdl.train.setup from `teacher`

  def __post_init__(self):
    super().__post_init__()
    if self.kind not in _KINDS:
      raise UsageError(f"--task_args kind={self.kind!r}; choose one of: {', '.join(_KINDS)}")

  def distillation_loss(self, logits, distill_logits, teacher_logits, labels, targets=None):
    """Per-example loss (B,) from the student's two heads (the same array twice for a one-head student)."""
    supervised = self._per_example_loss(logits, labels, targets)
    if self.kind == "hard":
      return 0.5 * supervised + 0.5 * losses.softmax_cross_entropy(distill_logits, teacher_logits.argmax(-1))
    return (1 - self.alpha) * supervised + self.alpha * losses.distillation_kl(distill_logits, teacher_logits,
                                                                             self.temperature)

  def loss_fn(self, params, model_state, batch, rng):
    if self.teacher_logits is None:
      raise UsageError("--task=distill needs --task_args=teacher=RUN_DIR (a trained jaxdl classifier's workdir)")
    variables = {"params": params, **model_state}
    out, new_state = self.model.apply(variables, batch["image"], train=True, rngs={"dropout": rng},
                                      mutable=list(model_state))
    logits, heads = out if isinstance(out, tuple) else (out, [])
    distill_logits = heads[0] if heads else logits
    teacher_logits = jax.lax.stop_gradient(self.teacher_logits(batch["image"]))
    loss = self.distillation_loss(logits, distill_logits, teacher_logits, batch["label"],
                                  batch.get("targets")).mean()
    accuracy = ((logits + distill_logits).argmax(-1) == batch["label"]).mean()
    return loss, ({"loss": loss, "accuracy": accuracy}, dict(new_state))
