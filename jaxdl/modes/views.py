"""Modes that show a model or its data: the per-layer table, augmented training images, attention maps."""

import dataclasses
import os

import jax
import numpy as np

from jaxdl import data
from jaxdl.analysis import layer_table
from jaxdl.config import Config
from jaxdl.data import augment
from jaxdl.errors import UsageError
from jaxdl.train import loop, plots
from jaxdl.train import state as state_lib
from jaxdl.train.setup import build_task


def summarize(config: Config, workdir: str) -> str:
  """Per-layer output shapes, parameters and multiply-adds at the data's image size."""
  del workdir
  dataset = data.load(config.data, config.data_args, config.seed)
  if "image" not in dataset.example_shapes:
    raise UsageError(f"--mode=summary tables image models; --data={config.data} has no images")
  image_shape = dataset.example_shapes["image"]
  task = build_task(config, dataset.num_classes)

  def init(model, rng, images):  # through the task, which knows what else its model takes (a step, a label)
    return dataclasses.replace(task, model=model).init(rng, {"image": images, "label": np.zeros((1,), np.int32)})

  rows = layer_table.layers(task.model, image_shape, init)
  params = jax.eval_shape(lambda rng, x: init(task.model, rng, x), jax.random.PRNGKey(0),
                          jax.ShapeDtypeStruct((1, *image_shape), np.float32))["params"]
  total = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(params))
  return f"{config.model} on {config.data} {image_shape}\n" + layer_table.format_table(rows, total)


def augment_preview(config: Config, workdir: str) -> str:
  """4 training images, each followed by 7 augmented versions of it, as one PNG grid."""
  dataset = data.load(config.data, config.data_args, config.seed)
  fn = augment.parse(config.augment, dataset.num_classes)
  if fn is None:
    raise UsageError("--mode=augment_preview needs --augment, e.g. --augment=flip,crop=4,cutmix")
  originals = dataset.splits["train"].read(np.arange(4))
  rows = []
  for i in range(4):
    batch = {k: np.repeat(v[i:i + 1], 7, axis=0) for k, v in originals.items()}
    augmented = jax.jit(fn)(jax.random.PRNGKey(config.seed + i), batch)["image"]
    rows += [originals["image"][i], *np.asarray(augmented)]
  path = plots.image_grid(os.path.join(workdir, "plots", "augment_preview.png"), np.stack(rows),
                          f"--augment={config.augment} (first column: original)")
  return f"wrote {path}"


def attention_maps(config: Config, workdir: str, count: int = 4) -> str:
  """A PNG of what the best checkpoint attends to on the first `count` test examples (tasks with
  `attention_maps(params, model_state, batch, workdir) -> contract.AttentionMaps`)."""
  setup, state, step = loop.restore_checkpoint(config, workdir, best=True)
  state = setup.parallel.to_global(state)
  split, examples = setup.dataset.first_examples(count)
  result = setup.task.attention_maps(state_lib.eval_params(state), state.model_state, examples, workdir)
  path = os.path.join(workdir, "plots", "attention_maps.png")
  title = f"attention of step {step} on the first {len(result.maps)} {split} examples"
  if result.images is not None:
    path = plots.overlays(path, result.images, result.maps, title, result.captions)
  else:
    path = plots.heatmaps(path, result.maps, result.row_labels, result.column_labels, f"{title} (rows: outputs)")
  return f"wrote {path}"
