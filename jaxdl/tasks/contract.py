"""The task contract: everything the training loop and the modes know of a task. A new family adds a task, never a
loop branch.

A task owns its losses and metrics and sees its model only through `init`/`apply`. Batches are dicts whose keys the
task reads (`image`, `label`, `tokens`, ...). The required members are in `Task`; every other member the loop or a
mode reads is an optional ability declared here as a Protocol, and only declared members are read:

- the loop: `OwnsUpdate` (its own gradients and optimizer), `CorpusMetrics`, `SamplesEachEval`, `FinalMetrics`,
  `ConsecutiveBatches`; the setup fills in `Student`'s teacher, `Judged`'s judge and `Guided`'s classifier;
- the modes (`jaxdl.modes.MODES` lists each mode's needs, checked before it runs): `Sampler` (sample),
  `FinalMetrics` (quality), `DrawsAttention` (attention_maps), `Ensembles` (ensemble), `Classifier` (knn_eval,
  hessian, attack, explain);
- other runs read as a teacher or judge are `Classifier`s; a guiding classifier is a `NoiseAwareClassifier` on the
  `Noised` task's schedule.

`gradients` / `optimizer` fill in the defaults of `OwnsUpdate`.
"""

import dataclasses
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import jax
import numpy as np
import optax

Batch = dict[str, jax.Array]
Metrics = dict[str, jax.Array]


@runtime_checkable
class Task(Protocol):
  """Required of every task registered in `jaxdl.registry.tasks`."""

  model: Any  # the flax.linen module it applies (what --mode=summary tables and the probes read features of)
  train_metrics: tuple[str, ...]  # names of the scalars `loss_fn` reports; the loop sums them between log rows
  monitor: str        # the eval metric that, on the val split, picks the best checkpoint and stops early
  monitor_mode: str   # "max" or "min": which way `monitor` improves

  def init(self, rng: jax.Array, batch: Batch) -> dict[str, Any]:
    """The model's variables ({"params": ..., other collections}) for one batch's shapes."""

  def loss_fn(self, params, model_state: dict, batch: Batch, rng: jax.Array) -> tuple[jax.Array, tuple[Metrics, dict]]:
    """Training loss and (metrics named by `train_metrics`, updated model_state); differentiated w.r.t. params."""

  def eval_fn(self, params, model_state: dict, batch: Batch) -> Metrics:
    """Per-example metrics, each of shape (B,); the loop averages them over the real rows of each split."""

  def expected_initial_loss(self) -> float:
    """The loss an untrained model should start near (log C for softmax): the first babysitting check."""


@dataclasses.dataclass(frozen=True)
class Samples:
  """What a sampler returns: text to print and, optionally, images (N, H, W, C) in [0, 1] that `--mode=sample`
  draws into plots/samples.png, `columns` to a row, each with its caption under it. `extra` grids go to
  plots/NAME.png, titled by their text (a VAE's reconstructions and latent walk)."""

  text: str
  images: np.ndarray | None = None
  captions: tuple[str, ...] = ()
  columns: int = 4
  extra: dict[str, "Samples"] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class AttentionMaps:
  """What a task's `attention_maps(params, model_state, batch, workdir)` returns for `--mode=attention_maps`:
  maps (N, rows, columns) in [0, 1], drawn as labelled matrices (`row_labels`, `column_labels`: one list per
  map), or, with `images` (N, H, W, C), as heat over each image (a map is then the image's patch grid)."""

  maps: np.ndarray
  row_labels: tuple = ()
  column_labels: tuple = ()
  images: np.ndarray | None = None
  captions: tuple[str, ...] = ()


@runtime_checkable
class Sampler(Protocol):
  """Optional: a task that generates (text, images) serves `--mode=sample`."""

  def sample_fn(self, params, model_state: dict, rng: jax.Array, workdir: str, options, examples: Batch) -> Samples:
    """Draws samples from a trained model. `options`: the task's own dataclass, filled from the flags of the same
    names (--prompt, --temperature, --beam, ...); `examples`: the first test examples, what a conditional model
    decodes from (an unconditional one ignores them); `workdir` holds the run's data artifacts (vocab.json)."""


@runtime_checkable
class SamplesEachEval(Protocol):
  """Optional, for a `Sampler` of images: with `samples_each_eval` true the loop also draws its grid at every
  evaluation into plots/samples/step_N.png, from the same seed each time, so the grids show training's progress
  (a GAN's losses say little about its samples)."""

  samples_each_eval: bool


@runtime_checkable
class CorpusMetrics(Protocol):
  """Optional: a task with a metric over the whole split that is no mean of per-example values (corpus BLEU)."""

  def corpus_metrics(self, means: dict[str, float]) -> dict[str, float]:
    """A split's metrics from the means of `eval_fn`'s per-example values (e.g. n-gram counts -> BLEU)."""


@runtime_checkable
class Student(Protocol):
  """Optional: a task that learns from a trained teacher (distillation). The setup loads the best checkpoint of
  the run in `teacher` (a workdir) and sets `teacher_logits` (images -> the teacher's eval-mode logits)."""

  teacher: str
  teacher_logits: Callable | None


@runtime_checkable
class Judged(Protocol):
  """Optional: a generator whose samples a trained classifier scores. With `judge` (`jaxdl:NAME`, a judge shipped
  in jaxdl.judges, or a jaxdl classifier run's workdir, whose best checkpoint is read) the setup sets `judge_fn`
  (images -> (logits, penultimate features))."""

  judge: str
  judge_fn: Callable | None


@runtime_checkable
class Guided(Protocol):
  """Optional: a sampler steered by a noise-aware classifier (classifier guidance). With `classifier` (the
  workdir of a jaxdl run whose task has `log_prob(params, x_t, t, labels)` and the same `noise_schedule`) the
  setup loads that run's best checkpoint and sets `classifier_fn` ((x_t, t, labels) -> log p(labels | x_t))."""

  classifier: str
  classifier_fn: Callable | None


@runtime_checkable
class Classifier(Protocol):
  """Optional: a task whose model maps images to class scores: the probing modes read it, and a run of it can
  teach a student, judge a generator's samples or be ensembled."""

  def logits(self, params, model_state: dict, batch: Batch) -> jax.Array:
    """Eval-mode class scores (B, C) of `batch["image"]`."""


@runtime_checkable
class Ensembles(Protocol):
  """Optional: a task whose trained runs `--mode=ensemble` combines."""

  def ensemble_fn(self, members: list[tuple[Any, dict]], batch: Batch) -> Metrics:
    """Per-example metrics (B,) of the members' combined prediction; members = [(params, model_state)]."""


@runtime_checkable
class DrawsAttention(Protocol):
  """Optional: a task whose model's attention `--mode=attention_maps` draws."""

  def attention_maps(self, params, model_state: dict, batch: Batch, workdir: str) -> AttentionMaps:
    """What the model attends to on `batch` (`workdir` holds the run's artifacts, e.g. symbols.json)."""


@runtime_checkable
class Noised(Protocol):
  """Optional: a task that learns on images noised by a diffusion schedule (`jaxdl.diffusion.Schedule`); a guiding
  classifier must have learned on its guided model's schedule."""

  schedule: str  # the schedule's name (linear | cosine)
  steps: int     # its number of noise steps

  @property
  def noise_schedule(self):
    """The schedule named by the task's `schedule` and `steps` settings."""


@runtime_checkable
class NoiseAwareClassifier(Noised, Protocol):
  """Optional: a classifier of noised images, whose gradient guides a diffusion sampler (classifier guidance)."""

  def log_prob(self, params, x_t: jax.Array, t: jax.Array, labels: jax.Array) -> jax.Array:
    """log p(labels | x_t, t) per example (B,)."""


@runtime_checkable
class ConsecutiveBatches(Protocol):
  """Optional: a task that carries state from one step to the next (truncated BPTT) keeps it in the model_state
  collection `carry` and sets `consecutive_batches = True`, so that the loop feeds each batch row the data that
  follows the previous step's row (`jaxdl.data.pipeline.ConsecutiveBatches`)."""

  consecutive_batches: bool


@runtime_checkable
class FinalMetrics(Protocol):
  """Optional: metrics of the trained model that no mean of per-example values gives (the quality of a set of
  samples); the loop computes them once after training and adds them to summary.json's `final`."""

  def final_metrics(self, params, model_state: dict, dataset, rng: jax.Array) -> dict[str, float]:
    """`dataset`: the run's `jaxdl.data.source.Dataset` (its test split is what samples are compared with,
    for the report only: nothing is chosen by it)."""


@runtime_checkable
class OwnsUpdate(Protocol):
  """Optional: a task whose update one loss and one optimizer cannot express (a GAN's two networks).

  The loop still runs one jitted, donated step: it averages the task's gradients across devices,
  applies `optimizer(tx)` to them and keeps the NaN guard, the metric sums and exact resume.
  """

  def grad_fn(self, params, model_state: dict, batch: Batch, rng: jax.Array) -> tuple[Any, tuple[Metrics, dict]]:
    """(gradients shaped like params, (metrics with "loss", updated model_state)); e.g. each network's
    gradient of its own loss."""

  def optimizer(self, tx: optax.GradientTransformation) -> optax.GradientTransformation:
    """The transformation applied to `grad_fn`'s gradients, built from the one the flags describe (e.g.
    `optax.multi_transform` over named parameter groups, one optimizer each)."""


def check(task: Any) -> None:
  """Raises TypeError naming the members a task lacks (for whoever writes a new task)."""
  members = [*Task.__annotations__, *(name for name in vars(Task) if callable(getattr(Task, name))
                                      and not name.startswith("_"))]
  missing = [name for name in members if not hasattr(task, name)]
  if missing:
    raise TypeError(f"{type(task).__name__} does not follow jaxdl.tasks.contract.Task: missing {', '.join(missing)}")
  if task.monitor_mode not in ("max", "min"):
    raise TypeError(f"{type(task).__name__}.monitor_mode must be 'max' or 'min', got {task.monitor_mode!r}")


def gradients(task: Task) -> Callable:
  """The task's `grad_fn`, or the gradient of its `loss_fn`: (params, model_state, batch, rng) -> (grads, aux)."""
  if isinstance(task, OwnsUpdate):
    return task.grad_fn
  return jax.grad(task.loss_fn, has_aux=True)


def optimizer(task: Task, tx: optax.GradientTransformation) -> optax.GradientTransformation:
  """The transformation the loop applies: the task's own where it owns its update, else `tx`."""
  return task.optimizer(tx) if isinstance(task, OwnsUpdate) else tx
