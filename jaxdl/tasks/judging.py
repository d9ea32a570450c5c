"""Scoring a generator's samples with a judge (a trained classifier run: `contract.Judged`): the Fréchet distance
between the judge's penultimate features of the samples and of the test images, and for samples drawn for a
label, how often the judge reads them as that label. Shared by the generative tasks' `final_metrics`.

One draw's distance is noisy: on the 8x8 digits (512 judge features, 359 test images) independent draws of 1,000
DDIM samples from one model scored 7.7 to 13.7. `draws` > 1 reports the mean over independent draws and their
standard deviation, so two samplers can be compared by more than one draw each."""

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl.analysis.frechet import frechet_distance
from jaxdl.args import PositiveInt

CHUNK = 250  # samples drawn and judged at a time


@dataclasses.dataclass(frozen=True, kw_only=True)
class JudgeSettings:
  """A generative task's `contract.Judged` fields: `judge` (jaxdl:NAME, a shipped judge, or a classifier run's
  workdir) scores `quality_samples` samples after training, averaged over `quality_draws` independent draws."""

  judge: str = ""
  quality_samples: PositiveInt = 1000
  quality_draws: PositiveInt = 1
  judge_fn: Callable | None = None  # images -> (logits, features); set by jaxdl.train.setup from `judge`


def judge_samples(judge_fn: Callable, generate: Callable, count: int, dataset, rng, labels=None,
                  draws: int = 1) -> dict[str, float]:
  """`generate(rng, n, labels or None)` -> n images in [0, 1] shaped like the data's; `labels` (count,) ints for
  a conditional generator. Returns {"frechet_distance"[, "frechet_distance_std"][, "label_accuracy"]}: the
  distance of `count` samples, averaged over `draws` independent draws (the first drawn from `rng` itself, so one
  draw scores what it always did), with their standard deviation when there are several; the label accuracy of
  all of them."""
  test = dataset.splits["test"]
  real = test.read(np.arange(len(test)))["image"]
  real_features = np.concatenate([np.asarray(judge_fn(real[i:i + CHUNK])[1]) for i in range(0, len(real), CHUNK)])
  keys = [rng, *jax.random.split(rng, draws - 1)]  # the first is rng itself
  distances, hits = [], []
  for key in keys:
    logits, fake = [], []
    for start in range(0, count, CHUNK):
      n = min(CHUNK, count - start)
      images = generate(jax.random.fold_in(key, start), n, None if labels is None else labels[start:start + n])
      chunk_logits, chunk_features = judge_fn(images)
      logits.append(np.asarray(chunk_logits))
      fake.append(np.asarray(chunk_features))
    distances.append(frechet_distance(np.concatenate(fake), real_features))
    if labels is not None:
      hits.append(np.concatenate(logits).argmax(-1) == np.asarray(labels))
  metrics = {"frechet_distance": float(np.mean(distances))}
  if draws > 1:
    metrics["frechet_distance_std"] = float(np.std(distances, ddof=1))
  if labels is not None:
    metrics["label_accuracy"] = float(np.mean(hits))
  return metrics


def judge_generator(task, draw: Callable, dataset, rng, labelled: bool = False) -> dict[str, float]:
  """A generative task's `final_metrics`: {} without a judge (`task.judge_fn`), else `judge_samples` of
  `task.quality_draws` draws of `task.quality_samples` images from `draw(key, n, image_shape, labels or None)`,
  drawn for labels 0, 1, ... in turn when `labelled`."""
  if task.judge_fn is None:
    return {}
  shape = dataset.example_shapes["image"]
  labels = np.arange(task.quality_samples) % task.num_classes if labelled else None
  return judge_samples(task.judge_fn, lambda key, n, y: draw(key, n, shape, None if y is None else jnp.asarray(y)),
                       task.quality_samples, dataset, rng, labels, task.quality_draws)
