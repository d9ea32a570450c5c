"""What `--mode` runs: one table entry per mode, each `(config, workdir) -> the text to print`, with the task
abilities it needs (checked by `check_needs` before it runs). The bodies live beside this table, one file per mode
or family of modes; `jaxdl.cli.main` only dispatches. A new mode is one function and one `MODES` entry.
"""

import dataclasses
from collections.abc import Callable

from jaxdl import registry
from jaxdl.errors import UsageError
from jaxdl.modes import classic, ensemble, generate, lr_find, probes, scaling, training, views
from jaxdl.tasks import contract


@dataclasses.dataclass(frozen=True)
class Mode:
  """`run(config, workdir)` -> the text to print; `needs`: the task abilities (jaxdl.tasks.contract Protocols
  with methods only) it reads beyond `Task`, checked by `check_needs` before it runs."""

  run: Callable[..., str]
  help: str
  needs_workdir: bool = True
  needs: tuple[type, ...] = ()


# What a task that lacks an ability is, in the error line.
LACKING = {
    contract.Sampler: "does not generate samples",
    contract.FinalMetrics: "has no metrics beyond its evaluation (--mode=eval)",
    contract.DrawsAttention: "has no attention to draw",
    contract.Ensembles: "has no way to combine its runs' predictions",
    contract.Classifier: "is not an image classifier (this mode reads one's run)",
}

MODES = {
    "train": Mode(training.train, "train (resumes if the workdir has checkpoints)"),
    "eval": Mode(training.evaluate, "evaluate the latest checkpoint"),
    "sample": Mode(generate.sample, "draw samples from the best checkpoint (tasks that generate)",
                   needs=(contract.Sampler,)),
    "summary": Mode(views.summarize, "per-layer table of the model", needs_workdir=False),
    "quality": Mode(generate.quality, "score the best checkpoint's samples (--task_args judge=jaxdl:NAME or RUN_DIR)",
                    needs=(contract.FinalMetrics,)),
    "attention_maps": Mode(views.attention_maps, "a PNG of the best checkpoint's attention on a few test examples",
                           needs=(contract.DrawsAttention,)),
    "augment_preview": Mode(views.augment_preview, "a PNG grid of augmented training samples"),
    "ensemble": Mode(ensemble.ensemble_eval, "average the predictions of several checkpoints (--ensemble)",
                     needs=(contract.Ensembles,)),
    "scaling": Mode(scaling.scaling, "train one run per --scaling size and fit the power law L(N)"),
    "lr_find": Mode(lr_find.lr_find, "the LR range test: loss against an exponentially growing rate, a suggested lr"),
    "knn_eval": Mode(probes.knn_eval, "k-nearest-neighbour test accuracy of a classifier's penultimate features",
                     needs=(contract.Classifier,)),
    "hessian": Mode(probes.hessian, "extreme Hessian eigenvalues of a classifier's loss at its best checkpoint",
                    needs=(contract.Classifier,)),
    "attack": Mode(probes.attack, "a classifier's test accuracy under FGSM and PGD against epsilon",
                   needs=(contract.Classifier,)),
    "perceptron": Mode(classic.perceptron, "Rosenblatt's perceptron on two classes: its updates against the bound"),
    "knn": Mode(classic.knn, "k nearest neighbours on the pixels, k and distance by cross-validation"),
    "least_squares": Mode(classic.least_squares, "the closed-form linear classifier and its class templates"),
    "explain": Mode(probes.explain, "a PNG of what a classifier looks at (--method, --layer)",
                    needs=(contract.Classifier,)),
}


def check_needs(name: str, task: str) -> None:
  """One line naming the mode, the task and the ability it lacks, before anything is built or read."""
  task_cls = registry.tasks.get(task)
  for need in MODES[name].needs:
    if not issubclass(task_cls, need):
      members = [m for m in vars(need) if not m.startswith("_") and not hasattr(task_cls, m)]
      raise UsageError(f"--mode={name}: task {task!r} {LACKING[need]} (it has no {', '.join(members)}: "
                       f"jaxdl.tasks.contract.{need.__name__})")
